"""How the mailing area's audit rows read (registered with the generic renderer on import)."""

from __future__ import annotations

from erp_crm.audit import vocabulary

vocabulary.register(
    actions={
        "mailing_unsubscribed": "отказ от рассылок по ссылке из письма",
        "mailing_sent": "рассылка поставлена в очередь отправки",
    },
    fields={
        "recipients": "Писем",
        "manuals": "Руководства",
        "campaign_id": "Рассылка",
        "email": "E-mail",
    },
    references={"campaign_id": "mailing_campaigns"},
    moved={"postal_addresses": (60, "почтовых адресов")},
)
