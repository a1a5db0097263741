"""Access-matrix rows of client import/export (see test_access_matrix.py)."""

import tempfile
from pathlib import Path

from erp_crm.auth.permissions import Role
from erp_crm.clients.models import ImportJob
from tests.access.matrix import Case

ADMIN = frozenset({Role.ADMIN})
IMPORTERS = frozenset({Role.ADMIN, Role.HEAD_OF_SALES, Role.ANALYST})
EXPORTERS = IMPORTERS

CASES = [
    Case("client_transfer.import_upload", "GET", "/clients/import", IMPORTERS),
    # No file attached: the form comes back with its error.
    Case("client_transfer.import_upload", "POST", "/clients/import", IMPORTERS, ok=422),
    # The world's import job was started by the admin: a job is seen by its creator and admins,
    # so the other importers get 403 on it as well.
    Case("client_transfer.import_mapping", "GET", "/clients/import/{import_job}", ADMIN),
    # No column mapped: the mapping form comes back with its error.
    Case("client_transfer.import_mapping", "POST", "/clients/import/{import_job}", ADMIN, ok=422),
    Case("client_transfer.import_progress", "GET", "/clients/import/{import_job}/progress", ADMIN),
    Case("client_transfer.import_report", "GET", "/clients/import/{import_job}/report", ADMIN),
    Case("client_transfer.export_xlsx", "GET", "/clients/export.xlsx?q=Ромашка", EXPORTERS),
    Case("client_transfer.export_csv", "GET", "/clients/export.csv?sort=inn", EXPORTERS),
    # No file in the body: 400 for importers.
    Case("api.import_clients", "POST", "/api/v1/clients/import", IMPORTERS, ok=400),
]


def build(session, admin) -> dict:
    path = Path(tempfile.gettempdir()) / "erp_crm_access_matrix_import.csv"
    path.write_text("Наименование;ИНН\nООО «Матрица»;7707083893\n", encoding="utf-8")
    job = ImportJob(
        created_by_id=admin.id,
        filename="clients.csv",
        stored_path=str(path),  # absolute: outside the storage folder of the test app
        status="uploaded",
        mapping={"columns": {"0": "name", "1": "inn"}},
    )
    session.add(job)
    session.flush()
    return {"import_job": job.id}
