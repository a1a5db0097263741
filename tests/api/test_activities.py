"""The activities API: plan, list with its filters, complete (postponed, refusal to take part),
bad types answered 422 in Russian, the OpenAPI document (both backends)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from erp_crm.activities.models import ActivityReason
from erp_crm.auth.models import User
from erp_crm.deals.models import Deal, LostReason
from tests.fixtures.activities import future, setup


def test_plan_list_and_complete_through_the_api(client, db_session, make_user, api_token):
    manager, company, project, call = setup(db_session, make_user)
    headers = api_token("api_mgr")
    body = {
        "type_id": call.id,
        "goal": "Пригласить на выставку",
        "client_id": company.id,
        "project_id": project.id,
        "starts_at": future(1),
        "reminders": [15],
    }
    created = client.post("/api/v1/activities", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    first = created.get_json()
    assert first["status"] == "planned" and first["responsible_id"] == manager.id
    second = client.post(
        "/api/v1/activities", json={**body, "starts_at": future(5)}, headers=headers
    ).get_json()

    def ids(query: str) -> list[int]:
        answer = client.get(f"/api/v1/activities?{query}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        return [a["id"] for a in answer.get_json()["items"]]

    assert ids(f"client_id={company.id}") == [first["id"], second["id"]]
    assert ids(f"responsible_id={manager.id}&status=planned") == [first["id"], second["id"]]
    assert ids(f"to={future(3)}") == [first["id"]]
    assert ids(f"from={future(3)}") == [second["id"]]
    assert ids("overdue=true") == []
    assert ids(f"project_id={project.id}&status=done") == []

    why = db_session.scalar(select(ActivityReason).where(ActivityReason.kind == "postpone"))
    refused = client.post(
        f"/api/v1/activities/{first['id']}/complete",
        json={"kind": "postponed", "reason_id": why.id},
        headers=headers,
    )
    assert refused.status_code == 422
    assert "postponed_to" in refused.get_json()["error"]["fields"]
    done = client.post(
        f"/api/v1/activities/{first['id']}/complete",
        json={"kind": "postponed", "reason_id": why.id, "postponed_to": future(2, 15)},
        headers=headers,
    )
    assert done.status_code == 200, done.get_json()
    answer = done.get_json()
    assert answer["activity"]["status"] == "done"
    assert answer["next_activity"]["goal"] == "Пригласить на выставку"
    assert answer["activity"]["next_activity_id"] == answer["next_activity"]["id"]

    lost = db_session.scalar(select(LostReason).order_by(LostReason.id))
    refusal = client.post(
        f"/api/v1/activities/{second['id']}/complete",
        json={"kind": "refused_participation", "lost_reason_id": lost.id},
        headers=headers,
    )
    assert refusal.status_code == 200, refusal.get_json()
    deal = db_session.scalar(select(Deal).where(Deal.client_id == company.id))
    assert deal.outcome == "lost" and deal.lost_reason_id == lost.id


def test_bad_types_get_a_russian_422_and_change_nothing(client, db_session, make_user, api_token):
    _, company, _, call = setup(db_session, make_user)
    headers = api_token("api_mgr")
    for body, field in (
        ({"type_id": "звонок", "goal": "x", "client_id": company.id}, "type_id"),
        ({"type_id": call.id, "goal": 5, "client_id": company.id}, "goal"),
        (
            {"type_id": call.id, "goal": "x", "client_id": company.id, "reminders": "-5"},
            "reminders",
        ),
        (
            {"type_id": call.id, "goal": "x", "client_id": company.id, "starts_at": "вчера"},
            "starts_at",
        ),
        (
            {
                "type_id": call.id,
                "goal": "x",
                "client_id": company.id,
                "starts_at": "2020-01-01T10:00",
            },
            "starts_at",
        ),
    ):
        answer = client.post("/api/v1/activities", json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.get_json())
        assert field in answer.get_json()["error"]["fields"]
    assert client.get("/api/v1/activities", headers=headers).get_json()["total"] == 0
    assert client.get("/api/v1/activities?status=всё", headers=headers).status_code == 422
    assert client.get("/api/v1/activities?client_id=x", headers=headers).status_code == 422


def test_a_request_through_the_api_and_the_openapi_document(
    client, db_session, make_user, api_token
):
    setup(db_session, make_user)
    make_user("accountant", username="api_buh")
    accountant_id = db_session.scalar(select(User.id).where(User.username == "api_buh"))
    headers = api_token("api_mgr")
    sent = client.post(
        "/api/v1/tasks",
        json={
            "assignee_id": accountant_id,
            "goal": "Акт сверки",
            "due_on": dt.date.today().isoformat(),
        },
        headers=headers,
    )
    assert sent.status_code == 201, sent.get_json()
    assert [
        t["goal"] for t in client.get("/api/v1/tasks", headers=headers).get_json()["items"]
    ] == ["Акт сверки"]
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/activities",
        "/api/v1/activities/{activity_id}",
        "/api/v1/activities/{activity_id}/complete",
        "/api/v1/activities/{activity_id}/cancel",
        "/api/v1/activity-types",
        "/api/v1/tasks",
    ):
        assert path in paths, path
    assert "patch" in paths["/api/v1/activities/{activity_id}"]


def test_tasks_are_answered_and_ratings_recorded_through_the_api(
    client, db_session, make_user, api_token
):
    manager, company, project, call = setup(db_session, make_user)
    make_user("accountant", username="api_buh2")
    make_user("sales_manager", username="api_rival")
    accountant_id = db_session.scalar(select(User.id).where(User.username == "api_buh2"))
    author = api_token("api_mgr")
    task = client.post(
        "/api/v1/tasks",
        json={"assignee_id": accountant_id, "goal": "Счёт", "due_on": dt.date.today().isoformat()},
        headers=author,
    ).get_json()
    url = f"/api/v1/tasks/{task['id']}"
    assert client.post(f"{url}/accept", headers=author).status_code == 403  # not the assignee
    assignee = api_token("api_buh2")
    assert client.post(f"{url}/accept", headers=assignee).get_json()["status"] == "accepted"
    empty = client.post(f"{url}/done", json={"answer": " "}, headers=assignee)
    assert empty.status_code == 422 and "answer" in empty.get_json()["error"]["fields"]
    done = client.post(f"{url}/done", json={"answer": "Счёт выставлен"}, headers=assignee)
    assert done.get_json()["status"] == "done"
    assert client.get(url, headers=author).get_json()["answer"] == "Счёт выставлен"
    assert client.get(url, headers=api_token("api_rival")).status_code == 403

    scores = {"manager_score": 5, "project_score": 4, "company_score": 5, "comment": "Спасибо"}
    bad = client.post(
        "/api/v1/ratings",
        json={**scores, "client_id": company.id, "project_score": 9},
        headers=author,
    )
    assert bad.status_code == 422 and "project_score" in bad.get_json()["error"]["fields"]
    refused = client.post(
        "/api/v1/ratings", json={**scores, "client_id": company.id}, headers=api_token("api_rival")
    )
    assert refused.status_code == 403  # not this client's manager
    made = client.post("/api/v1/ratings", json={**scores, "client_id": company.id}, headers=author)
    assert made.status_code == 201, made.get_json()
    listed = client.get(f"/api/v1/ratings?client_id={company.id}", headers=author).get_json()
    assert [(r["manager_score"], r["comment"]) for r in listed["items"]] == [(5, "Спасибо")]
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/ratings",
        "/api/v1/tasks/{task_id}",
        "/api/v1/tasks/{task_id}/{action}",
    } <= set(paths)
