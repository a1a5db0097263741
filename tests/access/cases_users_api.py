"""Access-matrix rows of the users API (see test_access_matrix.py): the admin only, as the
/admin/users pages."""

from erp_crm.auth.permissions import Role
from tests.access.matrix import Case

ADMIN = frozenset({Role.ADMIN})

CASES = [
    Case("api.list_users", "GET", "/api/v1/users?role=sales_manager", ADMIN),
    Case("api.create_user", "POST", "/api/v1/users", ADMIN, ok=422),
    Case("api.get_user", "GET", "/api/v1/users/{user}", ADMIN),
    # An empty change keeps the user as they are.
    Case("api.update_user", "PATCH", "/api/v1/users/{user}", ADMIN),
    Case("api.reset_password", "POST", "/api/v1/users/{user}/password", ADMIN, ok=422),
]


def build(session, admin) -> dict:
    return {}
