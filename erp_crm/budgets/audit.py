"""How the budgets' audit rows read: approval, articles, the budget lines.

Registered with the generic audit renderer (`erp_crm/audit/vocabulary.py`) on import of the
package; the audit part knows nothing of this area.
"""

from __future__ import annotations

from erp_crm.audit import vocabulary

vocabulary.register(
    actions={"budget_lines": "изменены строки бюджета"},
    fields={
        "approved_by_id": "Утвердил",
        "article_id": "Статья бюджета",
        "comment": "Комментарий",
    },
    diff_actions={"budget_lines": None},
)
