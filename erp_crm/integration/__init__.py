"""The app's side of the accounting exchange: the outbox, the exchange state and log, settings.

erp_crm only writes here (a business change and its outbox row in one transaction) and reads the
log; accounting_sync sends and receives. erp_crm never imports accounting_sync or zeep.
"""

# Registers how this area's audit rows read with the generic audit renderer, on import.
from erp_crm.integration import audit as _audit  # noqa: E402, F401

# Connects this area's receivers of the cross-area signals (erp_crm/signals.py) on import.
from erp_crm.integration import receivers as _receivers  # noqa: E402, F401
