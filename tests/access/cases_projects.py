"""Access-matrix rows of the projects area: projects, halls, price lists, stands, the hall plan,
holds, and their API (see test_access_matrix.py)."""

import datetime as dt

from erp_crm.auth.permissions import Role
from erp_crm.projects import prices, services
from erp_crm.projects import stand_services as ss
from tests.access.matrix import Case

ANY = frozenset(Role)
MANAGERS = frozenset({Role.ADMIN, Role.PROJECT_MANAGER})  # projects.manage
SELLERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER})  # deals.work

CASES = [
    Case("projects.index", "GET", "/projects/?status=selling", ANY),
    Case("projects.create", "GET", "/projects/new", MANAGERS),
    Case("projects.create", "POST", "/projects/new", MANAGERS, ok=422),
    Case("projects.show", "GET", "/projects/{prj_project}", ANY),
    Case("projects.edit", "GET", "/projects/{prj_project}/edit", MANAGERS),
    # Fields a form does not send keep their stored values (WTForms with obj=): a valid save.
    Case("projects.edit", "POST", "/projects/{prj_project}/edit", MANAGERS, ok=302),
    Case("projects.hall_create", "GET", "/projects/{prj_project}/halls/new", MANAGERS),
    Case("projects.hall_create", "POST", "/projects/{prj_project}/halls/new", MANAGERS, ok=422),
    Case("projects.hall_edit", "GET", "/projects/halls/{prj_hall}/edit", MANAGERS),
    Case("projects.hall_edit", "POST", "/projects/halls/{prj_hall}/edit", MANAGERS, ok=302),
    Case(
        "projects.hall_delete", "POST", "/projects/halls/{prj_empty_hall}/delete", MANAGERS, ok=302
    ),
    Case("projects.prices", "GET", "/projects/{prj_project}/prices", ANY),
    # An empty price list is a valid one (nothing sold yet): saved, back to the page.
    Case("projects.prices", "POST", "/projects/{prj_project}/prices", MANAGERS, ok=302),
    Case("projects.service_create", "GET", "/projects/{prj_project}/services/new", MANAGERS),
    Case(
        "projects.service_create", "POST", "/projects/{prj_project}/services/new", MANAGERS, ok=422
    ),
    Case("projects.service_edit", "GET", "/projects/services/{prj_service}/edit", MANAGERS),
    Case(
        "projects.service_edit", "POST", "/projects/services/{prj_service}/edit", MANAGERS, ok=302
    ),
    Case("projects.stands_index", "GET", "/projects/{prj_project}/stands?status=free", ANY),
    Case("projects.stand_create", "GET", "/projects/{prj_project}/stands/new", MANAGERS),
    Case("projects.stand_create", "POST", "/projects/{prj_project}/stands/new", MANAGERS, ok=422),
    Case("projects.stand_edit", "GET", "/projects/stands/{prj_stand}/edit", MANAGERS),
    Case("projects.stand_edit", "POST", "/projects/stands/{prj_stand}/edit", MANAGERS, ok=302),
    Case("projects.stand_import", "GET", "/projects/{prj_project}/stands/import", MANAGERS),
    Case(
        "projects.stand_import", "POST", "/projects/{prj_project}/stands/import", MANAGERS, ok=422
    ),
    Case("projects.plan", "GET", "/projects/{prj_project}/plan", ANY),
    Case("projects.plan_pdf", "GET", "/projects/{prj_project}/plan.pdf", ANY),
    Case("projects.stand_show", "GET", "/projects/stands/{prj_stand}", ANY),
    Case("projects.stand_reserve", "POST", "/projects/stands/{prj_stand}/reserve", SELLERS, ok=422),
    # Releasing a free stand changes nothing and says so.
    Case("projects.stand_release", "POST", "/projects/stands/{prj_stand}/release", SELLERS, ok=302),
    Case(
        "projects.stand_toggle",
        "POST",
        "/projects/stands/{prj_spare_stand}/active",
        MANAGERS,
        ok=302,
    ),
    Case("api.list_projects", "GET", "/api/v1/projects", ANY),
    Case("api.create_project", "POST", "/api/v1/projects", MANAGERS, ok=422),
    Case("api.get_project", "GET", "/api/v1/projects/{prj_project}", ANY),
    Case("api.list_stands", "GET", "/api/v1/projects/{prj_project}/stands", ANY),
    Case("api.create_stand", "POST", "/api/v1/projects/{prj_project}/stands", MANAGERS, ok=422),
    Case("api.reserve_stand", "POST", "/api/v1/stands/{prj_stand}/reserve", SELLERS, ok=422),
    Case("api.release_stand", "POST", "/api/v1/stands/{prj_stand}/release", SELLERS),
]


def build(session, admin) -> dict:
    project = services.create_project(
        session,
        services.ProjectData(
            name="Матрица-2027",
            code="PRJ-MATRIX",
            opening_date=dt.date(2027, 3, 16),
            closing_date=dt.date(2027, 3, 18),
        ),
        actor=admin,
    )
    hall = services.create_hall(
        session, project, services.HallData(name="Павильон 1", width_m=30, depth_m=20), actor=admin
    )
    empty = services.create_hall(
        session, project, services.HallData(name="Пустой", width_m=10, depth_m=10), actor=admin
    )
    item = prices.create_service(
        session, project, prices.ServiceData(name="Стул", price="650"), actor=admin
    )

    def stand(number: str, x: int):
        data = ss.StandData(hall_id=hall.id, number=number, x_m=x, y_m=0, width_m=3, depth_m=3)
        return ss.create_stand(session, project, data, actor=admin)

    return {
        "prj_project": project.id,
        "prj_hall": hall.id,
        "prj_empty_hall": empty.id,
        "prj_service": item.id,
        "prj_stand": stand("A-1", 0).id,
        "prj_spare_stand": stand("A-2", 3).id,
    }
