"""How the sales documents' audit rows read: who issued, cancelled, uploaded; what a merge
moved.

Registered with the generic audit renderer (`erp_crm/audit/vocabulary.py`) on import of the
package; the audit part knows nothing of this area.
"""

from __future__ import annotations

from erp_crm.audit import vocabulary

vocabulary.register(
    fields={
        "issued_by_id": "Выставил",
        "cancelled_by_id": "Аннулировал",
        "uploaded_by_id": "Загрузил",
        "document_id": "Документ",
    },
    moved={"documents": (20, "документов")},
)
