"""Access-matrix rows of the mailing pages: selections, campaigns, printing, returned mail and
the clean-up list are for the base keepers (analysts, head of sales, admin); the mail log too;
the SMTP settings and label formats' geometry for the admin; sending a deal's document by
e-mail for whoever may issue its documents; the unsubscribe link works without login."""

from erp_crm.auth.permissions import Role
from erp_crm.mailing import addresses, selections
from tests.access.matrix import PUBLIC, Case
from tests.fixtures.deals import make_client

ANY = frozenset(Role)
KEEPERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.ANALYST})
ADMIN = frozenset({Role.ADMIN})
EDITORS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.ANALYST})
SENDERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER, Role.ACCOUNTANT})

CASES = [
    Case("mailing.index", "GET", "/mailing/", KEEPERS),
    Case("mailing.selection_new", "GET", "/mailing/selections/new?city=Самара", KEEPERS),
    Case("mailing.selection_new", "POST", "/mailing/selections/new", KEEPERS, ok=422),
    Case("mailing.selection_show", "GET", "/mailing/selections/{m_selection}", KEEPERS),
    Case(
        "mailing.campaign_create",
        "POST",
        "/mailing/selections/{m_selection}/campaigns",
        KEEPERS,
        ok=422,
    ),
    Case("mailing.campaign_show", "GET", "/mailing/campaigns/{m_campaign}", KEEPERS),
    Case(
        "mailing.campaign_labels", "POST", "/mailing/campaigns/{m_campaign}/labels", KEEPERS, ok=422
    ),
    Case(
        "mailing.campaign_envelopes",
        "POST",
        "/mailing/campaigns/{m_campaign}/envelopes",
        KEEPERS,
        ok=422,
    ),
    Case("mailing.campaign_export", "POST", "/mailing/campaigns/{m_campaign}/export", KEEPERS),
    Case("mailing.print_status", "GET", "/mailing/prints/{m_print}", KEEPERS),
    Case("mailing.print_progress", "GET", "/mailing/prints/{m_print}/progress", KEEPERS),
    Case("mailing.print_result", "GET", "/mailing/prints/{m_print}/result.pdf", KEEPERS, ok=404),
    # A post campaign is printed, not sent: refused with a message.
    Case("mailing.campaign_send", "POST", "/mailing/campaigns/{m_campaign}/send", KEEPERS, ok=422),
    Case("mailing.address_edit", "GET", "/mailing/addresses/client/{m_client}", EDITORS),
    Case("mailing.address_edit", "POST", "/mailing/addresses/client/{m_client}", EDITORS, ok=422),
    Case(
        "mailing.address_returned",
        "POST",
        "/mailing/addresses/{m_address}/returned",
        KEEPERS,
        ok=422,
    ),
    Case("mailing.cleanup", "GET", "/mailing/cleanup", KEEPERS),
    Case("mailing.formats", "GET", "/mailing/formats", KEEPERS),
    Case("mailing.formats", "POST", "/mailing/formats", ADMIN, ok=422),
    Case(
        "mailing.format_edit",
        "POST",
        "/mailing/formats/{m_format}",
        ADMIN,
        ok=302,
        data={"offset_x": "0", "offset_y": "0"},
    ),
    Case("mailing.format_calibration", "GET", "/mailing/formats/{m_format}/calibration", KEEPERS),
    Case("mailing.deal_send", "POST", "/mailing/deals/999999/send", SENDERS, ok=404),
    Case("mailing.mail_log", "GET", "/mailing/log", KEEPERS),
    Case("mailing.mail_retry", "POST", "/mailing/log/999999/retry", KEEPERS, ok=404),
    Case("mailing.settings", "GET", "/mailing/settings", ADMIN),
    Case("mailing.settings", "POST", "/mailing/settings", ADMIN, ok=422),
    Case("api.list_selections", "GET", "/api/v1/mailing/selections", KEEPERS),
    Case("api.create_selection", "POST", "/api/v1/mailing/selections", KEEPERS, ok=422),
    Case(
        "api.selection_entries", "GET", "/api/v1/mailing/selections/{m_selection}/entries", KEEPERS
    ),
    Case(
        "api.create_campaign",
        "POST",
        "/api/v1/mailing/selections/{m_selection}/campaigns",
        KEEPERS,
        ok=422,
    ),
    Case("api.get_campaign", "GET", "/api/v1/mailing/campaigns/{m_campaign}", KEEPERS),
    Case("api.campaign_pdf", "POST", "/api/v1/mailing/campaigns/{m_campaign}/pdf", KEEPERS, ok=400),
    Case("api.campaign_export", "GET", "/api/v1/mailing/campaigns/{m_campaign}/export", KEEPERS),
    Case("api.send_deal_document", "POST", "/api/v1/deals/999999/mail", SENDERS, ok=404),
    Case("api.deal_mail", "GET", "/api/v1/deals/999999/mail", ANY, ok=404),
    Case("api.mail_status", "GET", "/api/v1/mail/999999", ANY, ok=404),
    Case("mailing_public.unsubscribe", "GET", "/m/unsubscribe/forged", PUBLIC, ok=400),
    Case("mailing_public.unsubscribe", "POST", "/m/unsubscribe/forged", PUBLIC, ok=400),
]


def build(session, admin) -> dict:
    from erp_crm.mailing.models import LabelFormat

    client = make_client(session, admin, name="ООО «Рассылка матрицы»", inn="7736050003")
    address = addresses.set_address(
        session,
        client,
        addresses.AddressData(
            postcode="443110", city="Самара", street="ул. Мичурина", building="д. 23"
        ),
        actor=admin,
    )
    selection = selections.save_selection(
        session, name="Выборка матрицы", filter_args={"city": "Самара"}, actor=admin
    )
    campaign = selections.create_campaign(
        session, selection, name="Рассылка матрицы", channel="post", actor=admin
    )
    fmt = session.query(LabelFormat).filter_by(code="a4-3x8").one()
    from erp_crm.jobs.models import JobRequest

    printing = JobRequest(  # a print still queued: its page and progress, no file yet
        name="mailing.print",
        payload={"campaign_id": campaign.id, "what": "labels", "option": fmt.id},
        title="Наклейки: Рассылка матрицы",
    )
    session.add(printing)
    session.flush()
    return {
        "m_print": printing.id,
        "m_client": client.id,
        "m_address": address.id,
        "m_selection": selection.id,
        "m_campaign": campaign.id,
        "m_format": fmt.id,
    }
