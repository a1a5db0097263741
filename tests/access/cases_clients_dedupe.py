"""Access-matrix rows of client duplicates and merging (see test_access_matrix.py).

Every role runs the rows in order in a fresh transaction with a fresh world, so the merge row of an
allowed role really merges dup_b into dup_a (302 to the survivor's card), and the unmerge row after
it undoes that merge (302). The API merge row sends no body: 422 for an allowed caller proves the
permission check passed without merging anything.
"""

from erp_crm.auth.permissions import Role
from erp_crm.clients import contacts, services
from tests.access.matrix import Case

KEEPERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.ANALYST})

CASES = [
    Case("client_duplicates.index", "GET", "/clients/duplicates", KEEPERS),
    Case("client_duplicates.index", "GET", "/clients/duplicates?min_score=0&page=2", KEEPERS),
    Case("client_duplicates.merge", "GET", "/clients/{dup_a}/merge", KEEPERS),
    Case("client_duplicates.merge", "GET", "/clients/{dup_a}/merge?duplicate_id={dup_b}", KEEPERS),
    Case(
        "client_duplicates.merge",
        "POST",
        "/clients/{dup_a}/merge?duplicate_id={dup_b}",
        KEEPERS,
        ok=302,
    ),
    Case("client_duplicates.unmerge", "POST", "/clients/{dup_b}/unmerge", KEEPERS, ok=302),
    Case("api.client_duplicates_list", "GET", "/api/v1/clients/duplicates?min_score=50", KEEPERS),
    Case("api.client_duplicates_merge", "POST", "/api/v1/clients/{dup_a}/merge", KEEPERS, ok=422),
]


def build(session, admin) -> dict:
    """Two records of one company: the same ИНН and КПП, near-identical names in one city."""
    first = services.create_client(
        session,
        services.ClientData(
            name="ООО «Альфа-Трейд»", inn="7736207543", kpp="773601001", city="Тверь"
        ),
        actor=admin,
    )
    second = services.create_client(
        session,
        services.ClientData(
            name="Альфа Трейд ООО", inn="7736207543", kpp="773601001", city="Тверь"
        ),
        actor=admin,
    )
    contacts.add_contact(
        session,
        second,
        contacts.ContactData(full_name="Смирнова Ольга", phones=["+7 4822 33-44-55"]),
        actor=admin,
    )
    return {"dup_a": first.id, "dup_b": second.id}
