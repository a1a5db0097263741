"""Access-matrix rows of the job engine's operations page: the admin only (jobs.manage)."""

from erp_crm.auth.permissions import Role
from erp_crm.jobs.models import JobRequest
from tests.access.matrix import Case

ADMIN = frozenset({Role.ADMIN})

CASES = [
    Case("jobs.index", "GET", "/admin/jobs/", ADMIN),
    Case("jobs.retry", "POST", "/admin/jobs/{failed_job}/retry", ADMIN, ok=302),
    Case("jobs.cancel", "POST", "/admin/jobs/{queued_job}/cancel", ADMIN, ok=302),
]


def build(session, admin) -> dict:
    failed = JobRequest(name="matrix.unknown", status="failed", error="сбой", title="Проба")
    queued = JobRequest(name="matrix.unknown", status="queued", title="Проба")
    session.add_all([failed, queued])
    session.flush()
    return {"failed_job": failed.id, "queued_job": queued.id}
