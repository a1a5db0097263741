"""How the payments' audit rows read: their keys on other rows, what a merge moved.

Registered with the generic audit renderer (`erp_crm/audit/vocabulary.py`) on import of the
package; the audit part knows nothing of this area.
"""

from __future__ import annotations

from erp_crm.audit import vocabulary

vocabulary.register(
    fields={"payment_id": "Платёж"},
    moved={"payments": (30, "платежей")},
)
