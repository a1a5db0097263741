"""The deals API: open, price, read, move, lose — the same rules and answers as the pages."""

import datetime as dt

import pytest
from sqlalchemy import select

from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services
from erp_crm.deals.models import Deal, LostReason
from erp_crm.projects.models import ServiceItem, Stand
from tests.fixtures.deals import make_client, make_project


@pytest.fixture
def world(db_session, make_user):
    manager = make_user("sales_manager", username="api_mgr")
    make_user("sales_manager", username="api_other")
    project = make_project(db_session)
    company = make_client(db_session, manager)
    rival = make_client(db_session, manager, name="АО «Вектор»", inn="7736207543")
    db_session.commit()
    stands = db_session.scalars(
        select(Stand).where(Stand.project_id == project.id).order_by(Stand.number)
    ).all()
    item = db_session.scalar(select(ServiceItem).where(ServiceItem.project_id == project.id))
    return {
        "manager": manager,
        "project": project,
        "company": company,
        "rival": rival,
        "stands": stands,
        "item": item,
    }


def stage_id(session, code, percent) -> int:
    pipeline = services.pipeline_by_code(session, code)
    return next(s.id for s in pipeline.stages if s.percent == percent)


def test_a_deal_goes_through_the_api_from_opening_to_a_sale(client, api_token, world, db_session):
    auth = api_token("api_mgr")
    opened = client.post(
        "/api/v1/deals",
        json={"client_id": world["company"].id, "project_id": world["project"].id},
        headers=auth,
    )
    assert opened.status_code == 201, opened.get_json()
    deal = opened.get_json()
    assert (deal["outcome"], deal["percent"], deal["pipeline"]) == ("open", 0, "sales")
    url = f"/api/v1/deals/{deal['id']}"
    corner = world["stands"][0]
    hold = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    added = client.post(
        f"{url}/lines",
        json={"kind": "stand", "stand_id": corner.id, "hold_until": hold},
        headers=auth,
    )
    assert added.status_code == 201, added.get_json()
    for body in (
        {"kind": "registration"},
        {"kind": "service", "service_item_id": world["item"].id, "quantity": "2"},
        {"kind": "space", "stand_type": "raw", "area_m2": "6"},
    ):
        assert client.post(f"{url}/lines", json=body, headers=auth).status_code == 201, body
    read = client.get(url, headers=auth).get_json()
    assert [line["kind"] for line in read["lines"]] == ["stand", "registration", "service", "space"]
    stand_line = read["lines"][0]
    assert stand_line["amount"] == "125400.00" and stand_line["surcharge"] == "11400.00"
    assert read["lines"][2]["amount"] == "7501.00"  # 2 × 3 750,50
    # 125 400 + 15 000 + 7 501 + 57 000
    assert read["totals"] == {
        "amount": "204901.00",
        "vat_amount": read["vat_amount"],
        "area_m2": "18.00",
    }
    assert all(isinstance(line["amount"], str) for line in read["lines"])
    db_session.refresh(corner)
    assert corner.status == "reserved" and corner.reserved_until.date().isoformat() >= hold[:10]

    moved = client.patch(
        url, json={"stage_id": stage_id(db_session, "sales", 70), "note": "подписали"}, headers=auth
    )
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["outcome"], moved.get_json()["percent"]) == ("won", 70)
    db_session.refresh(corner)
    assert corner.status == "sold"

    discounted = client.patch(
        url,
        json={"discount_kind": "amount", "discount_value": "4901", "discount_reason": "Пакет"},
        headers=auth,
    )
    assert discounted.get_json()["amount"] == "200000.00"
    renamed = client.patch(url, json={"title": "Ромашка на ВСЭ-2027"}, headers=auth)
    assert renamed.get_json()["title"] == "Ромашка на ВСЭ-2027"

    listed = client.get(
        f"/api/v1/deals?project_id={world['project'].id}&outcome=won", headers=auth
    ).get_json()
    assert [d["id"] for d in listed["items"]] == [deal["id"]]
    assert listed["sums"] == {"amount": "200000.00", "area_m2": "18.00"}
    assert client.get("/api/v1/deals?outcome=lost", headers=auth).get_json()["total"] == 0


def test_a_taken_stand_is_a_409_naming_its_holder(client, api_token, world, db_session):
    manager, stand = world["manager"], world["stands"][1]
    first = services.create_deal(
        db_session,
        services.DealData(client_id=world["company"].id, project_id=world["project"].id),
        actor=manager,
    )
    deal_lines.add_stand_line(db_session, first, stand, actor=manager)
    second = services.create_deal(
        db_session,
        services.DealData(client_id=world["rival"].id, project_id=world["project"].id),
        actor=manager,
    )
    db_session.commit()
    answer = client.post(
        f"/api/v1/deals/{second.id}/lines",
        json={"kind": "stand", "stand_id": stand.id},
        headers=api_token("api_mgr"),
    )
    assert answer.status_code == 409
    assert "уже забронирован" in answer.get_json()["error"]["message"]
    db_session.expire_all()
    assert db_session.get(Deal, second.id).lines == []
    assert db_session.get(Stand, stand.id).deal_id == first.id


def test_losing_without_a_reason_is_a_422_and_with_one_frees_the_stands(
    client, api_token, world, db_session
):
    manager, stand = world["manager"], world["stands"][2]
    deal = services.create_deal(
        db_session,
        services.DealData(client_id=world["company"].id, project_id=world["project"].id),
        actor=manager,
    )
    deal_lines.add_stand_line(db_session, deal, stand, actor=manager)
    db_session.commit()
    auth, url = api_token("api_mgr"), f"/api/v1/deals/{deal.id}"
    refused = client.patch(url, json={"outcome": "lost", "lost_comment": "дорого"}, headers=auth)
    assert refused.status_code == 422
    assert "причину" in refused.get_json()["error"]["fields"]["lost_reason_id"]
    db_session.expire_all()
    assert db_session.get(Deal, deal.id).outcome == "open"
    reason = db_session.scalar(select(LostReason.id).where(LostReason.name == "Нет бюджета"))
    lost = client.patch(
        url,
        json={"outcome": "lost", "lost_reason_id": reason, "lost_comment": "дорого"},
        headers=auth,
    )
    assert lost.status_code == 200
    assert (lost.get_json()["outcome"], lost.get_json()["lost_reason_id"]) == ("lost", reason)
    db_session.expire_all()
    assert db_session.get(Stand, stand.id).status == "free"
    reopen = client.patch(url, json={"outcome": "open"}, headers=auth)
    assert reopen.status_code == 422 and "outcome" in reopen.get_json()["error"]["fields"]


def test_field_errors_other_managers_and_deferred_stages(client, api_token, world, db_session):
    auth = api_token("api_mgr")
    refused = client.post("/api/v1/deals", json={"client_id": "x"}, headers=auth)
    assert refused.status_code == 422
    assert set(refused.get_json()["error"]["fields"]) == {"client_id"}
    refused = client.post("/api/v1/deals", json={}, headers=auth)
    assert set(refused.get_json()["error"]["fields"]) == {"client_id", "project_id"}
    deal = client.post(
        "/api/v1/deals",
        json={"client_id": world["company"].id, "project_id": world["project"].id},
        headers=auth,
    ).get_json()
    url = f"/api/v1/deals/{deal['id']}"
    deferred = stage_id(db_session, "deferred", 0)
    refused = client.patch(url, json={"stage_id": deferred}, headers=auth)
    assert refused.status_code == 422
    assert "next_contact_date" in refused.get_json()["error"]["fields"]
    moved = client.patch(
        url, json={"stage_id": deferred, "next_contact_date": "2027-02-01"}, headers=auth
    )
    assert moved.get_json()["pipeline"] == "deferred"
    # The date IS a planned call at 10:00 Moscow: the deal shows it as its next step.
    assert moved.get_json()["next_contact_at"] == "2027-02-01T07:00:00+00:00"
    for body in ({"kind": "space", "stand_type": "raw", "area_m2": "-1"}, {"kind": "tent"}):
        answer = client.post(f"{url}/lines", json=body, headers=auth)
        assert answer.status_code == 422 and answer.get_json()["error"]["fields"], body

    other = api_token("api_other")
    assert client.get(url, headers=other).status_code == 200  # everyone sees deals
    assert client.patch(url, json={"title": "Моя"}, headers=other).status_code == 403
    registration = {"kind": "registration"}
    assert client.post(f"{url}/lines", json=registration, headers=other).status_code == 403
    assert client.get("/api/v1/openapi.json").get_json()["paths"]["/api/v1/deals/{deal_id}/lines"][
        "post"
    ]
