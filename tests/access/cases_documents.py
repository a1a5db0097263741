"""Access-matrix rows of the documents area (see test_access_matrix.py).

The world's deal belongs to the matrix admin and has its sales package issued. Every role sees
documents; issuing, status and cancelling take documents.issue AND the right to work the deal —
so besides the admin only the head of sales and the accountant (documents.manage) may; a sales
manager who is not the deal's manager gets 403. Templates and number formats are the admin's.
The correction (which really issues a document) comes last.
"""

from decimal import Decimal

from sqlalchemy import select

from erp_crm.auth.permissions import Role
from erp_crm.clients import services as client_services
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services as deal_services
from erp_crm.projects.models import ServiceItem, Stand
from erp_crm.sales_documents import services, templates_admin
from erp_crm.sales_documents.models import PrintJob
from erp_crm.sales_documents.template_store import shipped
from tests.access.matrix import Case
from tests.fixtures.deals import make_project

ANY = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
ISSUERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.ACCOUNTANT})
PROJECT_MANAGERS = frozenset({Role.ADMIN, Role.PROJECT_MANAGER})

CASES = [
    Case("documents.index", "GET", "/documents/?kind=invoice&q=7736207543", ANY),
    Case("documents.deal_panel", "GET", "/documents/deal/{doc_deal}/panel", ANY),
    Case("documents.preview", "GET", "/documents/deal/{doc_deal}/preview/act", ANY),
    Case("documents.deal_manual", "GET", "/documents/deal/{doc_deal}/manual/technical_manual", ANY),
    Case("documents.package_file", "GET", "/documents/deal/{doc_deal}/package.zip", ANY),
    Case("documents.show", "GET", "/documents/{doc_invoice}", ANY),
    Case("documents.file", "GET", "/documents/{doc_contract}/file/docx", ANY),
    Case(
        "documents.issue",
        "POST",
        "/documents/deal/{doc_deal}/issue",
        ISSUERS,
        ok=422,
        data={"kind": "bogus"},
    ),
    # The package is complete already: a flash and back to the deal.
    Case("documents.issue_package", "POST", "/documents/deal/{doc_deal}/package", ISSUERS, ok=302),
    Case("documents.set_status", "POST", "/documents/{doc_invoice}/status", ISSUERS, ok=422),
    Case("documents.cancel", "POST", "/documents/{doc_invoice}/cancel", ISSUERS, ok=422),
    Case("document_templates.index", "GET", "/documents/templates/", ADMIN),
    Case("document_templates.upload", "POST", "/documents/templates/upload", ADMIN, ok=422),
    Case("document_templates.preview", "GET", "/documents/templates/{doc_template}/preview", ADMIN),
    Case(
        "document_templates.download", "GET", "/documents/templates/{doc_template}/download", ADMIN
    ),
    Case(
        "document_templates.set_active",
        "POST",
        "/documents/templates/{doc_template}/active",
        ADMIN,
        ok=302,
        data={"active": "1"},
    ),
    Case("document_templates.shipped", "GET", "/documents/templates/shipped/invoice/html", ADMIN),
    Case(
        "document_templates.number_format",
        "POST",
        "/documents/templates/number-format/{org}",
        ADMIN,
        ok=422,
        data={"kind": "invoice", "pattern": "без номера"},
    ),
    Case(
        "document_templates.organization_image",
        "POST",
        "/documents/templates/organizations/{org}/image",
        ADMIN,
        ok=422,
        data={"field": "stamp_image"},
    ),
    Case(
        "document_templates.organization_image_file",
        "GET",
        "/documents/templates/organizations/{org}/image/stamp_image",
        ANY,
        ok=404,
    ),
    Case("project_documents.index", "GET", "/documents/projects/{doc_project}", ANY),
    Case(
        "project_documents.batch",
        "POST",
        "/documents/projects/{doc_project}/batch",
        ISSUERS,
        ok=422,
        data={"kind": "vat_invoice"},
    ),
    Case("project_documents.progress", "GET", "/documents/projects/jobs/{doc_job}/progress", ANY),
    Case(
        "project_documents.result",
        "GET",
        "/documents/projects/jobs/{doc_job}/result.zip",
        ANY,
        ok=404,
    ),
    Case(
        "project_documents.upload_manual",
        "POST",
        "/documents/projects/{doc_project}/manuals",
        PROJECT_MANAGERS,
        ok=422,
        data={"kind": "marketing_manual"},
    ),
    Case(
        "project_documents.manual",
        "GET",
        "/documents/projects/{doc_project}/manuals/marketing_manual",
        ANY,
    ),
    Case("api.deal_documents", "GET", "/api/v1/deals/{doc_deal}/documents", ANY),
    Case(
        "api.issue_document",
        "POST",
        "/api/v1/deals/{doc_deal}/documents",
        ISSUERS,
        ok=422,
        data={"kind": "bogus"},
    ),
    Case("api.get_document", "GET", "/api/v1/documents/{doc_invoice}", ANY),
    Case("api.document_file", "GET", "/api/v1/documents/{doc_invoice}/file?format=pdf", ANY),
    Case("api.cancel_document", "POST", "/api/v1/documents/{doc_invoice}/cancel", ISSUERS, ok=422),
    Case("api.upload_template", "POST", "/api/v1/document-templates", ADMIN, ok=400),
    Case(
        "api.preview_template", "POST", "/api/v1/document-templates/{doc_template}/preview", ADMIN
    ),
    Case(
        "api.activate_template",
        "POST",
        "/api/v1/document-templates/{doc_template}/active",
        ADMIN,
        data={"active": False},
    ),
    # Last: really issues a corrected invoice (and cancels the old one).
    Case("documents.correct", "POST", "/documents/{doc_invoice}/correct", ISSUERS, ok=302),
]


def build(session, admin) -> dict:
    project = make_project(session, code="MTRXD", name="Матрица-Документы 2027")
    client = client_services.create_client(
        session,
        client_services.ClientData(name="АО «Документ & Ко»", inn="7736207543", city="Самара"),
        actor=admin,
    )
    deal = deal_services.create_deal(
        session, deal_services.DealData(client_id=client.id, project_id=project.id), actor=admin
    )
    stand = session.scalar(
        select(Stand).where(Stand.project_id == project.id).order_by(Stand.number)
    )
    item = session.scalar(select(ServiceItem).where(ServiceItem.project_id == project.id))
    deal_lines.add_stand_line(session, deal, stand, actor=admin)
    deal_lines.add_service_line(session, deal, item, Decimal(1), actor=admin)
    issued = {d.kind: d for d in services.issue_package(session, deal, actor=admin)}
    template = templates_admin.upload_template(
        session,
        kind="invoice",
        filename="invoice.html",
        data=shipped("invoice", "html").content,
        name="Матрица: счёт",
        project=project,
        actor=admin,
    )
    templates_admin.preview_template(session, template, actor=admin)  # so it may be activated
    job = PrintJob(
        project_id=project.id,
        kind="invoice",
        created_by_id=admin.id,
        deal_ids=[deal.id],
        total=1,
        status="running",
        failed=[],
    )
    session.add(job)
    session.flush()
    return {
        "doc_project": project.id,
        "doc_deal": deal.id,
        "doc_invoice": issued["invoice"].id,
        "doc_contract": issued["contract"].id,
        "doc_template": template.id,
        "doc_job": job.id,
    }
