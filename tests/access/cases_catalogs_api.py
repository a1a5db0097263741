"""Access-matrix rows of the catalogs API (see test_access_matrix.py): a project's halls,
price list and services catalog, PATCH of projects and stands (read: projects.view — every role;
change: projects.manage), pipelines, stages and lost reasons (read: deals.view — every role;
change: pipelines.manage — the admin)."""

import datetime as dt

from erp_crm.auth.permissions import Role
from erp_crm.deals import pipelines
from erp_crm.projects import prices, services
from erp_crm.projects import stand_services as ss
from tests.access.matrix import Case

ANY = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
MANAGERS = frozenset({Role.ADMIN, Role.PROJECT_MANAGER})  # projects.manage

CASES = [
    # An empty change keeps the record as it is: a valid save for those who may change it.
    Case("api.update_project", "PATCH", "/api/v1/projects/{cat_project}", MANAGERS),
    Case("api.get_stand", "GET", "/api/v1/stands/{cat_stand}", ANY),
    Case("api.update_stand", "PATCH", "/api/v1/stands/{cat_stand}", MANAGERS),
    Case("api.list_halls", "GET", "/api/v1/projects/{cat_project}/halls", ANY),
    Case("api.create_hall", "POST", "/api/v1/projects/{cat_project}/halls", MANAGERS, ok=422),
    Case("api.get_hall", "GET", "/api/v1/halls/{cat_hall}", ANY),
    Case("api.update_hall", "PATCH", "/api/v1/halls/{cat_hall}", MANAGERS),
    Case("api.delete_hall", "DELETE", "/api/v1/halls/{cat_empty_hall}", MANAGERS),
    Case("api.get_price_list", "GET", "/api/v1/projects/{cat_project}/price-list", ANY),
    Case("api.save_price_list", "PUT", "/api/v1/projects/{cat_project}/price-list", MANAGERS),
    Case("api.list_services", "GET", "/api/v1/projects/{cat_project}/services", ANY),
    Case("api.create_service", "POST", "/api/v1/projects/{cat_project}/services", MANAGERS, ok=422),
    Case("api.get_service", "GET", "/api/v1/services/{cat_service}", ANY),
    Case("api.update_service", "PATCH", "/api/v1/services/{cat_service}", MANAGERS),
    Case("api.list_pipelines", "GET", "/api/v1/pipelines", ANY),
    Case("api.create_pipeline", "POST", "/api/v1/pipelines", ADMIN, ok=422),
    Case("api.get_pipeline", "GET", "/api/v1/pipelines/{cat_pipeline}", ANY),
    Case("api.update_pipeline", "PATCH", "/api/v1/pipelines/{cat_pipeline}", ADMIN),
    Case("api.add_stage", "POST", "/api/v1/pipelines/{cat_pipeline}/stages", ADMIN, ok=422),
    Case("api.get_stage", "GET", "/api/v1/stages/{cat_stage}", ANY),
    Case("api.update_stage", "PATCH", "/api/v1/stages/{cat_stage}", ADMIN),
    Case("api.list_lost_reasons", "GET", "/api/v1/lost-reasons?active=true", ANY),
    Case("api.create_lost_reason", "POST", "/api/v1/lost-reasons", ADMIN, ok=422),
    Case("api.update_lost_reason", "PATCH", "/api/v1/lost-reasons/{cat_reason}", ADMIN),
]


def build(session, admin) -> dict:
    project = services.create_project(
        session,
        services.ProjectData(
            name="Каталоги API-2027",
            code="CAT-API",
            opening_date=dt.date(2027, 4, 6),
            closing_date=dt.date(2027, 4, 8),
        ),
        actor=admin,
    )
    hall = services.create_hall(
        session, project, services.HallData(name="Зал A", width_m=20, depth_m=20), actor=admin
    )
    empty = services.create_hall(
        session, project, services.HallData(name="Зал B", width_m=10, depth_m=10), actor=admin
    )
    item = prices.create_service(
        session, project, prices.ServiceData(name="Розетка", price="1200"), actor=admin
    )
    stand = ss.create_stand(
        session,
        project,
        ss.StandData(hall_id=hall.id, number="C-1", x_m=0, y_m=0, width_m=3, depth_m=3),
        actor=admin,
    )
    pipeline = pipelines.create_pipeline(session, "Каталоги API: партнёры", "cat_api", actor=admin)
    stage = pipelines.add_stage(
        session, pipeline, pipelines.StageData(name="Каталоги API: звонок", percent=10), actor=admin
    )
    reason = pipelines.add_lost_reason(session, "Каталоги API: нет бюджета", actor=admin)
    return {
        "cat_project": project.id,
        "cat_hall": hall.id,
        "cat_empty_hall": empty.id,
        "cat_service": item.id,
        "cat_stand": stand.id,
        "cat_pipeline": pipeline.id,
        "cat_stage": stage.id,
        "cat_reason": reason.id,
    }
