"""How the exchange settings' audit rows read (an adapter writes them: no audited model).

Registered with the generic audit renderer (`erp_crm/audit/vocabulary.py`) on import of the
package; the audit part knows nothing of this area.
"""

from __future__ import annotations

from erp_crm.audit import vocabulary

vocabulary.register(
    actions={"settings": "изменены настройки обмена с 1С"},
    titles={"exchange_state": "Настройки обмена с 1С"},
    fields={
        "url": "Адрес сервиса",
        "username": "Логин",
        "password_changed": "Пароль изменён",
    },
)
