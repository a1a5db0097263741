"""Access-matrix rows of the deals area (see test_access_matrix.py).

The world's deal belongs to the matrix admin: the admin and the head of sales work it, a sales
manager only sees it (403 on every action), the other roles only see deals. Pipelines are the
admin's. Rows that change the world for good (removing lines) come last.
"""

from decimal import Decimal

from sqlalchemy import select

from erp_crm.auth.permissions import Role
from erp_crm.clients import services as client_services
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import pipelines, services
from erp_crm.projects.models import ServiceItem, Stand
from tests.access.matrix import Case
from tests.fixtures.deals import make_project

ANY = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
SELLERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.SALES_MANAGER})
# The deal's manager is the admin: besides them only the head of sales (deals.all) works it.
WORKERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES})

CASES = [
    Case("deals.index", "GET", "/deals/?pipeline=sales&q=Матрица&outcome=open", ANY),
    Case("deals.show", "GET", "/deals/{deal_deal}", ANY),
    Case("deals.create", "GET", "/deals/new?client_id={deal_client}&q=Матрица", SELLERS),
    Case("deals.create", "POST", "/deals/new", SELLERS, ok=422),
    Case("deals.update_details", "POST", "/deals/{deal_deal}/details", WORKERS, ok=422),
    Case("deals.move", "POST", "/deals/{deal_deal}/stage", WORKERS, ok=422),
    Case("deals.add_stand", "POST", "/deals/{deal_deal}/lines/stand", WORKERS, ok=422),
    Case("deals.add_space", "POST", "/deals/{deal_deal}/lines/space", WORKERS, ok=422),
    Case("deals.add_service", "POST", "/deals/{deal_deal}/lines/service", WORKERS, ok=422),
    Case(
        "deals.add_registration", "POST", "/deals/{deal_deal}/lines/registration", WORKERS, ok=302
    ),
    Case("deals.set_discount", "POST", "/deals/{deal_deal}/discount", WORKERS, ok=302),
    # Losing without a reason is refused: the deal stays open for the rows below.
    Case("deals.lose", "POST", "/deals/{deal_deal}/lose", WORKERS, ok=422),
    Case("api.list_deals", "GET", "/api/v1/deals?project_id={deal_project}", ANY),
    Case("api.get_deal", "GET", "/api/v1/deals/{deal_deal}", ANY),
    Case("api.create_deal", "POST", "/api/v1/deals", SELLERS, ok=422),
    Case(
        "api.update_deal",
        "PATCH",
        "/api/v1/deals/{deal_deal}",
        WORKERS,
        data={"title": "Матрица — участие"},
    ),
    Case(
        "api.add_deal_line",
        "POST",
        "/api/v1/deals/{deal_deal}/lines",
        WORKERS,
        ok=201,
        data={"kind": "space", "stand_type": "raw", "area_m2": "6"},
    ),
    Case("pipelines.index", "GET", "/admin/pipelines/", ADMIN),
    Case("pipelines.create_pipeline", "POST", "/admin/pipelines/new", ADMIN, ok=422),
    Case(
        "pipelines.rename_pipeline",
        "POST",
        "/admin/pipelines/{deal_pipeline}/rename",
        ADMIN,
        ok=302,
        data={"name": "Матрица: выставочный маркетинг"},
    ),
    Case("pipelines.add_stage", "GET", "/admin/pipelines/{deal_pipeline}/stages/new", ADMIN),
    Case(
        "pipelines.add_stage", "POST", "/admin/pipelines/{deal_pipeline}/stages/new", ADMIN, ok=422
    ),
    Case("pipelines.edit_stage", "GET", "/admin/pipelines/stages/{deal_stage}/edit", ADMIN),
    Case(
        "pipelines.edit_stage", "POST", "/admin/pipelines/stages/{deal_stage}/edit", ADMIN, ok=422
    ),
    Case(
        "pipelines.move_stage",
        "POST",
        "/admin/pipelines/stages/{deal_stage}/move/down",
        ADMIN,
        ok=302,
    ),
    Case(
        "pipelines.toggle_stage",
        "POST",
        "/admin/pipelines/stages/{deal_stage}/toggle",
        ADMIN,
        ok=302,
    ),
    Case(
        "pipelines.toggle_pipeline",
        "POST",
        "/admin/pipelines/{deal_pipeline}/toggle",
        ADMIN,
        ok=302,
    ),
    Case("pipelines.add_reason", "POST", "/admin/pipelines/lost-reasons", ADMIN, ok=422),
    Case(
        "pipelines.rename_reason",
        "POST",
        "/admin/pipelines/lost-reasons/{deal_reason}/rename",
        ADMIN,
        ok=302,
        data={"name": "Матрица: переехали"},
    ),
    Case(
        "pipelines.toggle_reason",
        "POST",
        "/admin/pipelines/lost-reasons/{deal_reason}/toggle",
        ADMIN,
        ok=302,
    ),
    # Destructive, last: each removes a line of its own.
    Case("deals.remove_line", "POST", "/deals/lines/{deal_line}/remove", WORKERS, ok=302),
    Case(
        "api.remove_deal_line",
        "DELETE",
        "/api/v1/deals/{deal_deal}/lines/{deal_line2}",
        WORKERS,
    ),
]


def build(session, admin) -> dict:
    project = make_project(session, code="MTRX", name="Матрица-Экспо 2027")
    client = client_services.create_client(
        session,
        client_services.ClientData(name="АО «Матрица»", inn="7736207543", city="Самара"),
        actor=admin,
    )
    deal = services.create_deal(
        session, services.DealData(client_id=client.id, project_id=project.id), actor=admin
    )
    stand = session.scalar(
        select(Stand).where(Stand.project_id == project.id).order_by(Stand.number)
    )
    item = session.scalar(select(ServiceItem).where(ServiceItem.project_id == project.id))
    stand_line = deal_lines.add_stand_line(session, deal, stand, actor=admin)
    service_line = deal_lines.add_service_line(session, deal, item, Decimal(2), actor=admin)
    pipeline = pipelines.create_pipeline(session, "Матрица: маркетинг", "mtrx", actor=admin)
    stage = pipelines.add_stage(
        session, pipeline, pipelines.StageData(name="Матрица: бриф", percent=10), actor=admin
    )
    pipelines.add_stage(
        session, pipeline, pipelines.StageData(name="Матрица: макет", percent=50), actor=admin
    )
    reason = pipelines.add_lost_reason(session, "Матрица: переезд", actor=admin)
    return {
        "deal_project": project.id,
        "deal_client": client.id,
        "deal_deal": deal.id,
        "deal_line": stand_line.id,
        "deal_line2": service_line.id,
        "deal_pipeline": pipeline.id,
        "deal_stage": stage.id,
        "deal_reason": reason.id,
    }
