"""How the deals' audit rows read: their keys on other tables' rows, what a merge moved.

Registered with the generic audit renderer (`erp_crm/audit/vocabulary.py`) on import of the
package; the audit part knows nothing of this area.
"""

from __future__ import annotations

from erp_crm.audit import vocabulary

vocabulary.register(
    fields={
        "manager_id": "Менеджер",
        "handled_by_id": "Обработал",
        "deal_id": "Сделка",
        "title": "Название",
        "vat_amount": "Сумма НДС",
    },
    users=("manager_id",),
    references={"deal_id": "deals"},
    moved={"deals": (10, "сделок"), "leads": (40, "заявок")},
)
