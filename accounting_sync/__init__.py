"""The adapter to the accounting system (1C:Enterprise) over SOAP, and its emulator.

Only the transport: the zeep client (client.py), the wire types (messages.py), the CLI, the
emulator, and the exchange pass (sync.py) that moves erp_crm's data over SOAP. The outbox's and
the inbox's state machines and the mapping of our records are erp_crm's
(`erp_crm.integration.outbox`, `.inbox`, `.payloads`); erp_crm never imports this package. The
exchange arrives with the accounting capability; see docs/architecture.md.
"""
