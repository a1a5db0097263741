"""Every registered route × every role (and anonymous) gets the answer this table expects.

A route that is not in the table fails `test_every_route_is_in_the_matrix`: adding a page means
deciding here who may open it.
"""

from __future__ import annotations

import pytest

from erp_crm.auth.permissions import Role
from erp_crm.demo import DEMO_ORGANIZATION
from erp_crm.organizations import services as org_services
from tests.access.matrix import ADMIN, ANY, PUBLIC, Case
from tests.fixtures.organizations import VALID

CASES = [
    Case("static", "GET", "/static/css/app.css", PUBLIC),
    Case("main.health", "GET", "/healthz", PUBLIC),
    Case("main.favicon", "GET", "/favicon.ico", PUBLIC, anonymous=301, logged_in=301),
    Case("main.index", "GET", "/", ANY),
    Case("auth.login", "GET", "/login", PUBLIC, logged_in=302),
    Case("auth.login", "POST", "/login", PUBLIC, anonymous=200, logged_in=302),
    Case("auth.change_password", "GET", "/account/password", ANY),
    Case("auth.change_password", "POST", "/account/password", ANY, ok=422),
    Case("users.index", "GET", "/admin/users/", ADMIN),
    Case("users.create", "GET", "/admin/users/new", ADMIN),
    Case("users.create", "POST", "/admin/users/new", ADMIN, ok=422),
    Case("users.edit", "GET", "/admin/users/{user}/edit", ADMIN),
    # Fields a form does not send keep their stored values (WTForms with obj=): a valid save.
    Case("users.edit", "POST", "/admin/users/{user}/edit", ADMIN, ok=302),
    Case("users.deactivate", "POST", "/admin/users/{user}/deactivate", ADMIN, ok=302),
    Case("users.activate", "POST", "/admin/users/{user}/activate", ADMIN, ok=302),
    Case("organizations.index", "GET", "/organizations/", ANY),
    Case("organizations.show", "GET", "/organizations/{org}", ANY),
    Case("organizations.create", "GET", "/organizations/new", ADMIN),
    Case("organizations.create", "POST", "/organizations/new", ADMIN, ok=422),
    Case("organizations.edit", "GET", "/organizations/{org}/edit", ADMIN),
    Case("organizations.edit", "POST", "/organizations/{org}/edit", ADMIN, ok=302),
    Case("organizations.archive", "POST", "/organizations/{org}/archive", ADMIN, ok=302),
    Case("organizations.restore", "POST", "/organizations/{org}/restore", ADMIN, ok=302),
    Case("audit.index", "GET", "/audit/", ADMIN),
    Case("audit.history", "GET", "/audit/organizations/{org}", ANY),
    Case("audit.history", "GET", "/audit/users/{user}", ADMIN),
    Case("api.openapi_document", "GET", "/api/v1/openapi.json", PUBLIC),
    Case(
        "api.issue_token",
        "POST",
        "/api/v1/auth/token",
        PUBLIC,
        anonymous=401,
        logged_in=401,
        data={"username": "nobody", "password": "wrong-password"},
    ),
    Case("api.me", "GET", "/api/v1/me", ANY),
    Case("api.list_organizations", "GET", "/api/v1/organizations", ANY),
    Case("api.get_organization", "GET", "/api/v1/organizations/{org}", ANY),
    Case("api.create_organization", "POST", "/api/v1/organizations", ADMIN, ok=422),
    Case(
        "api.update_organization",
        "PATCH",
        "/api/v1/organizations/{org}",
        ADMIN,
        data={"director_name": "Новиков Н. Н."},
    ),
    # Last: they end the session the rows above use (each is called from a fresh login).
    Case("auth.logout", "POST", "/logout", ANY, ok=302),
    Case("auth.logout_everywhere", "POST", "/logout/everywhere", ANY, ok=302),
]
SESSION_ENDING = 2


def _area_modules():
    """Areas keep their rows in tests/access/cases_<area>.py: CASES, and build(session, admin)."""
    import importlib
    import pkgutil

    from tests import access

    return [
        importlib.import_module(f"tests.access.{m.name}")
        for m in pkgutil.iter_modules(access.__path__)
        if m.name.startswith("cases_")
    ]


AREA_MODULES = _area_modules()
# Logout stays last: it ends the session the other rows use.
CASES = (
    CASES[:-SESSION_ENDING] + [c for m in AREA_MODULES for c in m.CASES] + CASES[-SESSION_ENDING:]
)


def test_every_route_is_in_the_matrix(app):
    covered = {(c.endpoint, c.method) for c in CASES}
    registered = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert registered - covered == set(), "routes missing from the access matrix"
    assert covered - registered == set(), "matrix rows for routes that do not exist"


@pytest.fixture
def world(db_session, make_user):
    admin = make_user("admin", username="matrixadmin")
    org = org_services.create_organization(
        db_session, org_services.OrganizationData(**VALID), actor=admin
    )
    org_services.create_organization(db_session, DEMO_ORGANIZATION, actor=admin)
    target = make_user("sales_manager", username="matrixtarget")
    world = {"org": org.id, "user": target.id}
    for module in AREA_MODULES:
        world.update(module.build(db_session, admin))
    db_session.commit()
    return world


def _expected(case: Case, role: Role | None) -> int:
    api = case.path.startswith("/api/")
    if case.allowed == PUBLIC:
        override = case.anonymous if role is None else case.logged_in
        return override if override is not None else case.ok
    if role is None:
        return 401 if api else 302
    return case.ok if role in case.allowed else 403


def _call(client, case: Case, world: dict, headers: dict, token: str | None):
    path = case.path.format(**world)
    if case.path.startswith("/api/"):
        return client.open(path, method=case.method, json=case.data, headers=headers)
    if case.method == "GET":
        return client.get(path)
    data = dict(case.data)
    if token:
        data["csrf_token"] = token
    return client.open(path, method=case.method, data=data)


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
def test_route_answers_match_the_matrix_for_role(app, client, make_user, api_token, world, role):
    headers: dict[str, str] = {}
    if role is not None:
        make_user(role.value, username=f"who_{role.value}")
        client.login(f"who_{role.value}")
        headers = api_token(f"who_{role.value}")
    token = client.csrf_token("/login" if role is None else "/")
    mismatches = []
    for index, case in enumerate(CASES):
        if role is not None and index > len(CASES) - SESSION_ENDING:
            client.login(f"who_{role.value}")  # the row before ended the session
            token = client.csrf_token("/")
        response = _call(client, case, world, headers, token)
        expected = _expected(case, role)
        if response.status_code != expected:
            mismatches.append(f"{case.method} {case.path}: {response.status_code} != {expected}")
        if (
            role is None
            and expected == 302
            and "/login" not in response.headers.get("Location", "")
        ):
            mismatches.append(f"{case.method} {case.path}: anonymous not sent to the login page")
    assert not mismatches, "\n".join(mismatches)
