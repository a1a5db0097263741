"""A bounded schemathesis run against /api/v1/openapi.json: every operation of the document,
a few generated requests each (schema-valid ones, and invalid ones), sent through the app with
an admin's token. No answer may be a 500, and every answer must fit the document (a declared
status code, a JSON body matching the response schema).

Bounded for the suite (API_FUZZ_EXAMPLES, default 3 per operation and mode); `make api-fuzz`
runs more. The operations are walked here rather than through schemathesis' pytest plugin,
whose lazy fixture loader does not run on pytest 9.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text  # noqa: E402

from erp_crm.auth import services as auth_services  # noqa: E402
from erp_crm.demo import load_demo  # noqa: E402

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "3"))
ONLY = os.environ.get("API_FUZZ_ONLY", "")  # e.g. "/halls": only the operations naming it
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


def _run(operation, mode, call) -> str | None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        case.validate_response(call(case), checks=CHECKS)

    try:
        run()
    except (AssertionError, ExceptionGroup) as err:  # schemathesis' FailureGroup says it all
        return f"{mode.value} {operation.label}: {str(err)[:1500]}"
    return None


# The tables path ids are drawn from (every other request names rows the demo data made).
ID_TABLES = {
    "activity_id": "activities",
    "campaign_id": "mailing_campaigns",
    "client_id": "clients",
    "deal_id": "deals",
    "document_id": "documents",
    "hall_id": "halls",
    "item_id": "service_items",
    "lead_id": "leads",
    "line_id": "deal_lines",
    "message_id": "mail_messages",
    "org_id": "organizations",
    "pipeline_id": "pipelines",
    "project_id": "projects",
    "reason_id": "lost_reasons",
    "selection_id": "mailing_selections",
    "stage_id": "stages",
    "stand_id": "stands",
    "task_id": "activity_tasks",
    "template_id": "document_templates",
    "user_id": "users",
    "version_id": "budget_versions",
}


def _known_ids(session) -> dict[str, list[int]]:
    known = {}
    for name, table in ID_TABLES.items():
        rows = session.execute(text(f"SELECT id FROM {table} ORDER BY id LIMIT 5"))  # noqa: S608
        known[name] = [row[0] for row in rows]
    return known


def test_no_500_and_every_answer_fits_the_document(app, db_session, make_user):
    load_demo(db_session)
    admin = make_user("admin", username="fuzzadmin")
    db_session.commit()
    known = _known_ids(db_session)
    core = ("project_id", "hall_id", "stand_id", "deal_id", "client_id", "lead_id", "version_id")
    assert all(known[name] for name in core), known
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    calls = itertools.count()

    def call(case):
        number = next(calls)
        if number % 2 and case.path_parameters:
            for name in list(case.path_parameters):
                if known.get(name):
                    ids = known[name]
                    case.path_parameters[name] = ids[number // 2 % len(ids)]
        # A fresh token per request: a generated request may revoke the caller's tokens (a
        # role change, a password reset) — an allowed answer, not what this run looks for.
        token = auth_services.issue_api_token(db_session, admin, ttl=dt.timedelta(hours=1))
        db_session.commit()
        return case.call(headers={"Authorization": f"Bearer {token}"})

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100
    operations = [op for op in operations if ONLY in op.label]
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := _run(operation, mode, call)) is not None
    ]
    assert not failures, "\n\n".join(failures)
