"""The area's periodic job: stands whose hold has expired are freed (every
HOLDS_RELEASE_SECONDS, an hour; pages show an expired hold as free even before)."""

from __future__ import annotations

from erp_crm.db import db, set_actor
from erp_crm.jobs import periodic
from erp_crm.projects import stands


@periodic("projects.release_holds", every="HOLDS_RELEASE_SECONDS", title="Снятие истёкших броней")
def release_expired_holds() -> None:
    with db.job_session() as session:
        set_actor(session, None)
        stands.release_expired(session)
