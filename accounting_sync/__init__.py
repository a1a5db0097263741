"""The adapter to the accounting system (1C:Enterprise) over SOAP, and its emulator.

Depends on erp_crm's services; erp_crm only writes integration events to its outbox. The exchange
arrives with the accounting capability; see docs/architecture.md.
"""
