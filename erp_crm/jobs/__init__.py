"""Background work on huey: job requests written in the business transaction and sent after its
commit, periodic jobs run once per period, the operations pages, backups.

Areas register their jobs with `handler` / `periodic` (registry.py) and ask for one with
`request_job(session, name, payload, actor=…)`; nothing here imports an area.
"""

from erp_crm.jobs.registry import handler, periodic
from erp_crm.jobs.services import Cancelled, JobContext, Stop, Superseded, request_job

__all__ = ["Cancelled", "JobContext", "Stop", "Superseded", "handler", "periodic", "request_job"]
