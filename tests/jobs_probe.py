"""Jobs of the engine tests (loaded by the workers through ERP_JOBS_MODULES): they write what
they did to the file PROBE_FILE, one line per run, so a test sees every run of every worker."""

from __future__ import annotations

import os
import time

from erp_crm.jobs import JobContext, handler, periodic


def _write(line: str) -> None:
    with open(os.environ["PROBE_FILE"], "a", encoding="utf-8") as out:
        out.write(f"{line} {os.getpid()}\n")


@handler("probe.write", title="Проба: запись в файл")
def write_marker(ctx: JobContext) -> None:
    _write(f"job {ctx.payload['marker']}")


@periodic(
    "probe.tick", every=int(os.environ.get("PROBE_EVERY", "3600")), title="Проба: периодическое"
)
def tick() -> None:
    _write(f"tick {int(time.time())}")
