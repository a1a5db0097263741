"""Access-matrix rows of the client base pages and API (see test_access_matrix.py)."""

from erp_crm.auth.permissions import Role
from erp_crm.clients import competitors, contacts, groups, services
from tests.access.matrix import Case

ANY = frozenset(Role)
KEEPERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.ANALYST})
CREATORS = KEEPERS | {Role.SALES_MANAGER}
REASSIGNERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES})

CASES = [
    Case("clients.index", "GET", "/clients/?q=Ромашка&sort=inn&direction=desc", ANY),
    Case("clients.show", "GET", "/clients/{client}", ANY),
    Case("clients.create", "GET", "/clients/new", CREATORS),
    Case("clients.create", "POST", "/clients/new", CREATORS, ok=422),
    # The world's client is curated by nobody in particular: only the base keepers edit it.
    Case("clients.edit", "GET", "/clients/{client}/edit", KEEPERS),
    Case("clients.edit", "POST", "/clients/{client}/edit", KEEPERS, ok=302),
    Case("clients.add_contact", "GET", "/clients/{client}/contacts/new", KEEPERS),
    Case("clients.add_contact", "POST", "/clients/{client}/contacts/new", KEEPERS, ok=422),
    Case("clients.edit_contact", "GET", "/clients/contacts/{contact}/edit", KEEPERS),
    Case("clients.edit_contact", "POST", "/clients/contacts/{contact}/edit", KEEPERS, ok=302),
    Case("clients.archive_contact", "POST", "/clients/contacts/{contact}/archive", KEEPERS, ok=302),
    Case("clients.add_competitor", "POST", "/clients/{client}/competitors", KEEPERS, ok=302),
    Case(
        "clients.delete_competitor",
        "POST",
        "/clients/competitors/{participation}/delete",
        KEEPERS,
        ok=302,
    ),
    Case("clients.competitor_exhibitions", "GET", "/clients/competitor-exhibitions", ANY),
    Case(
        "clients.competitor_exhibitions", "POST", "/clients/competitor-exhibitions", KEEPERS, ok=422
    ),
    Case("clients.bulk_groups", "POST", "/clients/bulk-groups", ANY, ok=302),
    Case("clients.save_filter", "POST", "/clients/filters", ANY, ok=302),
    Case("clients.delete_filter", "POST", "/clients/filters/999999/delete", ANY, ok=302),
    Case("clients.reassign", "GET", "/clients/reassign", REASSIGNERS),
    Case("clients.reassign", "POST", "/clients/reassign", REASSIGNERS, ok=422),
    Case("groups.index", "GET", "/groups/", ANY),
    Case("groups.create", "GET", "/groups/new", CREATORS),
    Case("groups.create", "POST", "/groups/new", CREATORS, ok=422),
    Case("groups.edit", "GET", "/groups/{group}/edit", KEEPERS),
    Case("groups.edit", "POST", "/groups/{group}/edit", KEEPERS, ok=302),
    Case("api.list_clients", "GET", "/api/v1/clients?q=7707083893", ANY),
    Case("api.get_client", "GET", "/api/v1/clients/{client}", ANY),
    Case("api.create_client", "POST", "/api/v1/clients", CREATORS, ok=422),
    Case(
        "api.update_client",
        "PATCH",
        "/api/v1/clients/{client}",
        KEEPERS,
        data={"notes": "Проверено"},
    ),
    Case("api.list_contacts", "GET", "/api/v1/clients/{client}/contacts", ANY),
    Case("api.add_contact", "POST", "/api/v1/clients/{client}/contacts", KEEPERS, ok=422),
]


def build(session, admin) -> dict:
    client = services.create_client(
        session,
        services.ClientData(name="ООО «Ромашка»", inn="7707083893", kpp="773601001", city="Самара"),
        actor=admin,
    )
    contact = contacts.add_contact(
        session,
        client,
        contacts.ContactData(full_name="Иванов Иван", phones=["+7 927 123-45-67"]),
        actor=admin,
    )
    exhibition = competitors.add_competitor_exhibition(session, "Иннопром", actor=admin)
    participation = competitors.add_competitor_participation(
        session, client, exhibition.id, 2025, actor=admin
    )
    group = groups.create_group(
        session, name="Самарская область", kind="common", category="geography", actor=admin
    )
    return {
        "client": client.id,
        "contact": contact.id,
        "group": group.id,
        "participation": participation.id,
    }
