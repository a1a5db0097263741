"""The app's side of the accounting exchange, and the owner of its state.

`payloads` (what our records look like to 1C), `outbox` (queued in the business transaction;
claimed, numbered, marked sent or failed, backed off, dead, retried), `inbox` (1C's messages
applied exactly once by their number), `services` (node state, settings, the exchange log).
accounting_sync only carries the data over SOAP; erp_crm never imports accounting_sync or zeep.
"""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.integration import audit as _audit  # noqa: E402, F401

# Registers the «Обменяться сейчас» job with the job engine on import.
from erp_crm.integration import jobs as _jobs  # noqa: E402, F401

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.integration import receivers as _receivers  # noqa: E402, F401
