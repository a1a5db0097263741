"""How our organizations' requisites read in audit rows (the same words serve clients).

Registered with the generic audit renderer (`erp_crm/audit/vocabulary.py`) on import of the
package; the audit part knows nothing of this area.
"""

from __future__ import annotations

from erp_crm.audit import vocabulary

vocabulary.register(
    fields={
        "inn": "ИНН",
        "kpp": "КПП",
        "ogrn": "ОГРН / ОГРНИП",
        "legal_address": "Юридический адрес",
        "postal_address": "Почтовый адрес",
        "email": "E-mail",
        "phone": "Телефон",
        "organization_id": "Организация",
    },
    phones=("phone",),
)
