"""The catalogs of the API end to end: PATCH of projects and stands, halls, the price list with
its surcharges, the services catalog, pipelines with stages, lost reasons — created, read,
changed through /api/v1, refused with a Russian 422 and nothing changed, 403 for a role that
may not, the same rules as the pages (their services)."""

from __future__ import annotations

import pytest


@pytest.fixture
def admin(make_user, api_token):
    make_user("admin", username="catadmin")
    return api_token("catadmin")


@pytest.fixture
def seller(make_user, api_token):
    make_user("sales_manager", username="catseller")
    return api_token("catseller")


@pytest.fixture
def project(client, admin):
    body = {
        "name": "Каталоги-2027",
        "code": "CAT-2027",
        "opening_date": "2027-05-12",
        "closing_date": "2027-05-14",
    }
    response = client.post("/api/v1/projects", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _hall(client, admin, project, **body):
    body = {"name": "Павильон 1", "width_m": "30", "depth_m": "20", **body}
    response = client.post(f"/api/v1/projects/{project['id']}/halls", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _stand(client, admin, project, hall, **body):
    body = {"hall_id": hall["id"], "number": "A-1", "x_m": 0, "y_m": 0, "width_m": 3,
            "depth_m": 4, **body}  # fmt: skip
    response = client.post(f"/api/v1/projects/{project['id']}/stands", json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- projects and stands ------------------------------------------------------------------------


def test_patch_of_a_project_changes_only_the_fields_sent(client, admin, project):
    response = client.patch(
        f"/api/v1/projects/{project['id']}",
        json={"venue": "Экспоцентр", "closing_date": "2027-05-15"},
        headers=admin,
    )
    assert response.status_code == 200, response.get_json()
    changed = response.get_json()
    assert changed["venue"] == "Экспоцентр" and changed["closing_date"] == "2027-05-15"
    assert changed["name"] == "Каталоги-2027" and changed["opening_date"] == "2027-05-12"
    again = client.get(f"/api/v1/projects/{project['id']}", headers=admin).get_json()
    assert again["venue"] == "Экспоцентр"


def test_patch_of_a_project_with_closing_before_opening_is_a_russian_422(client, admin, project):
    response = client.patch(
        f"/api/v1/projects/{project['id']}",
        json={"closing_date": "2027-05-01", "venue": "Крокус"},
        headers=admin,
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert fields["closing_date"] == "Закрытие не может быть раньше открытия."
    again = client.get(f"/api/v1/projects/{project['id']}", headers=admin).get_json()
    assert again["closing_date"] == "2027-05-14" and again["venue"] is None


def test_a_seller_may_not_patch_a_project(client, seller, project):
    response = client.patch(
        f"/api/v1/projects/{project['id']}", json={"venue": "Х"}, headers=seller
    )
    assert response.status_code == 403


def test_patch_of_a_stand_moves_it_and_takes_it_off_sale(client, admin, project):
    hall = _hall(client, admin, project)
    stand = _stand(client, admin, project, hall)
    response = client.patch(
        f"/api/v1/stands/{stand['id']}", json={"x_m": "5", "stand_type": "shell"}, headers=admin
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["x_m"] == "5.00" and response.get_json()["stand_type"] == "shell"
    assert response.get_json()["area_m2"] == "12.00"
    response = client.patch(
        f"/api/v1/stands/{stand['id']}", json={"is_active": False}, headers=admin
    )
    assert response.status_code == 200 and response.get_json()["is_active"] is False
    shown = client.get(f"/api/v1/stands/{stand['id']}", headers=admin).get_json()
    assert shown["is_active"] is False and shown["x_m"] == "5.00"


def test_a_stand_moved_outside_its_hall_is_refused_and_stays(client, admin, project):
    hall = _hall(client, admin, project)
    stand = _stand(client, admin, project, hall)
    response = client.patch(f"/api/v1/stands/{stand['id']}", json={"x_m": 29}, headers=admin)
    assert response.status_code == 422
    assert "выходит за границы зала" in response.get_json()["error"]["fields"]["x_m"]
    assert client.get(f"/api/v1/stands/{stand['id']}", headers=admin).get_json()["x_m"] == "0.00"


# --- halls --------------------------------------------------------------------------------------


def test_halls_are_created_listed_changed_and_an_empty_one_deleted(client, admin, project):
    first = _hall(client, admin, project)
    second = _hall(client, admin, project, name="Павильон 2", width_m=12.5, depth_m="10,5")
    assert second["position"] == 2 and second["width_m"] == "12.50"
    assert second["depth_m"] == "10.50"
    listed = client.get(f"/api/v1/projects/{project['id']}/halls", headers=admin).get_json()
    assert [h["name"] for h in listed["items"]] == ["Павильон 1", "Павильон 2"]
    response = client.patch(f"/api/v1/halls/{first['id']}", json={"name": "Зал А"}, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["name"] == "Зал А" and response.get_json()["width_m"] == "30.00"
    assert client.delete(f"/api/v1/halls/{second['id']}", headers=admin).status_code == 200
    assert client.get(f"/api/v1/halls/{second['id']}", headers=admin).status_code == 404


def test_a_hall_with_stands_is_not_deleted_nor_shrunk_under_them(client, admin, project):
    hall = _hall(client, admin, project)
    _stand(client, admin, project, hall, x_m=20)
    response = client.delete(f"/api/v1/halls/{hall['id']}", headers=admin)
    assert response.status_code == 422
    assert "удалить можно только пустой зал" in response.get_json()["error"]["message"]
    response = client.patch(f"/api/v1/halls/{hall['id']}", json={"width_m": "10"}, headers=admin)
    assert response.status_code == 422
    assert "Стенды зала выходят за эту ширину" in response.get_json()["error"]["fields"]["width_m"]
    assert client.get(f"/api/v1/halls/{hall['id']}", headers=admin).get_json()["width_m"] == "30.00"


def test_a_hall_without_a_name_is_a_russian_422_and_a_seller_gets_403(
    client, admin, seller, project, count_rows
):
    url = f"/api/v1/projects/{project['id']}/halls"
    response = client.post(url, json={"name": " ", "width_m": 10, "depth_m": 10}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["name"] == "Укажите название зала."
    response = client.post(url, json={"name": "Зал", "width_m": 10, "depth_m": 10}, headers=seller)
    assert response.status_code == 403
    assert count_rows("halls") == 0


# --- price list ---------------------------------------------------------------------------------


def test_the_price_list_is_saved_with_surcharges_and_read_back(client, admin, project):
    url = f"/api/v1/projects/{project['id']}/price-list"
    body = {
        "registration_fee": "15000",
        "prices": [
            {"stand_type": "raw", "price_per_m2": "18500.00", "vat_rate": "auto"},
            {"stand_type": "shell", "price_per_m2": 21000},
        ],
        "surcharges": [
            {"position": "corner", "kind": "percent", "value": "10"},
            {"position": "island", "kind": "amount", "value": "50000"},
        ],
    }
    response = client.put(url, json=body, headers=admin)
    assert response.status_code == 200, response.get_json()
    saved = client.get(url, headers=admin).get_json()
    assert saved["registration_fee"] == "15000.00"
    assert saved["prices"] == [
        {
            "stand_type": "raw",
            "price_per_m2": "18500.00",
            "vat_rate": "auto",
            "vat_mode": "included",
        },
        {
            "stand_type": "shell",
            "price_per_m2": "21000.00",
            "vat_rate": "auto",
            "vat_mode": "included",
        },
    ]
    assert saved["surcharges"] == [
        {"position": "corner", "kind": "percent", "value": "10.00"},
        {"position": "island", "kind": "amount", "value": "50000.00"},
    ]
    # Only the fee sent: prices and surcharges stay.
    response = client.put(url, json={"registration_fee": 0}, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["prices"] == saved["prices"]
    assert response.get_json()["registration_fee"] == "0.00"


def test_prices_quoted_net_are_set_through_the_api(client, admin, project):
    url = f"/api/v1/projects/{project['id']}/price-list"
    body = {
        "registration_vat_mode": "on_top",
        "prices": [{"stand_type": "raw", "price_per_m2": "10000", "vat_mode": "on_top"}],
    }
    response = client.put(url, json=body, headers=admin)
    assert response.status_code == 200, response.get_json()
    saved = response.get_json()
    assert saved["registration_vat_mode"] == "on_top"
    assert saved["prices"][0]["vat_mode"] == "on_top"
    wrong = client.put(
        url, json={"prices": [{"stand_type": "raw", "vat_mode": "сверху"}]}, headers=admin
    )
    assert wrong.status_code == 422
    item = client.post(
        f"/api/v1/projects/{project['id']}/services",
        json={"name": "Уборка стенда", "price": "1000", "vat_mode": "on_top"},
        headers=admin,
    )
    assert item.status_code == 201, item.get_json()
    assert item.get_json()["vat_mode"] == "on_top"


def test_a_surcharge_over_100_percent_is_refused_and_nothing_changes(client, admin, project):
    url = f"/api/v1/projects/{project['id']}/price-list"
    response = client.put(
        url,
        json={
            "registration_fee": "999",
            "surcharges": [{"position": "corner", "kind": "percent", "value": 150}],
        },
        headers=admin,
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert fields["surcharge_corner"] == "Наценка в процентах — не больше 100."
    saved = client.get(url, headers=admin).get_json()
    assert saved["surcharges"] == [] and saved["registration_fee"] == "0.00"


def test_a_price_row_without_a_stand_type_or_twice_is_a_422(client, admin, project):
    url = f"/api/v1/projects/{project['id']}/price-list"
    rows = [{"stand_type": "raw", "price_per_m2": 1}, {"stand_type": "raw", "price_per_m2": 2}]
    response = client.put(url, json={"prices": rows}, headers=admin)
    assert response.status_code == 422
    assert "дважды" in response.get_json()["error"]["fields"]["prices[1].stand_type"]
    response = client.put(url, json={"prices": [{"price_per_m2": 1}]}, headers=admin)
    assert response.status_code == 422
    response = client.put(url, json={"prices": [{"stand_type": 5}]}, headers=admin)
    assert response.status_code == 422
    assert "prices[0].stand_type" in response.get_json()["error"]["fields"]


def test_a_seller_reads_the_price_list_but_may_not_save_it(client, seller, project):
    url = f"/api/v1/projects/{project['id']}/price-list"
    assert client.get(url, headers=seller).status_code == 200
    assert client.put(url, json={"registration_fee": 1}, headers=seller).status_code == 403


# --- services catalog ---------------------------------------------------------------------------


def test_services_are_added_changed_and_taken_off_sale(client, admin, seller, project):
    url = f"/api/v1/projects/{project['id']}/services"
    response = client.post(
        url, json={"name": "Стул", "price": "650", "unit": "шт", "vat_rate": "22"}, headers=admin
    )
    assert response.status_code == 201, response.get_json()
    item = response.get_json()
    assert item["price"] == "650.00" and item["unit_code"] == "796" and item["is_active"] is True
    response = client.patch(
        f"/api/v1/services/{item['id']}", json={"price": 700, "is_active": False}, headers=admin
    )
    assert response.status_code == 200
    assert response.get_json()["price"] == "700.00" and response.get_json()["is_active"] is False
    assert response.get_json()["name"] == "Стул"
    listed = client.get(url, headers=seller).get_json()["items"]
    assert [(s["name"], s["price"]) for s in listed] == [("Стул", "700.00")]
    response = client.patch(f"/api/v1/services/{item['id']}", json={"price": 1}, headers=seller)
    assert response.status_code == 403


def test_a_service_with_a_bad_okei_code_is_refused(client, admin, project, count_rows):
    url = f"/api/v1/projects/{project['id']}/services"
    response = client.post(
        url, json={"name": "Стол", "price": "1000", "unit_code": "шт"}, headers=admin
    )
    assert response.status_code == 422
    assert "Код ОКЕИ" in response.get_json()["error"]["fields"]["unit_code"]
    assert count_rows("service_items") == 0


# --- pipelines, stages, lost reasons ------------------------------------------------------------


def test_a_pipeline_gets_stages_in_order_and_is_renamed(client, admin, seller):
    response = client.post(
        "/api/v1/pipelines", json={"name": "Партнёрства", "code": "partners"}, headers=admin
    )
    assert response.status_code == 201, response.get_json()
    pipeline = response.get_json()
    url = f"/api/v1/pipelines/{pipeline['id']}/stages"
    first = client.post(url, json={"name": "Звонок", "percent": 10}, headers=admin).get_json()
    response = client.post(
        url, json={"name": "Встреча", "percent": 30, "position": 1}, headers=admin
    )
    assert response.status_code == 201
    assert response.get_json()["position"] == 1
    shown = client.get(f"/api/v1/pipelines/{pipeline['id']}", headers=seller).get_json()
    assert [s["name"] for s in shown["stages"]] == ["Встреча", "Звонок"]
    response = client.patch(
        f"/api/v1/stages/{first['id']}", json={"percent": 20, "is_sale": True}, headers=admin
    )
    assert response.status_code == 200
    assert response.get_json()["percent"] == 20 and response.get_json()["is_sale"] is True
    assert response.get_json()["name"] == "Звонок"
    response = client.patch(
        f"/api/v1/pipelines/{pipeline['id']}", json={"name": "Партнёры"}, headers=admin
    )
    assert response.status_code == 200 and response.get_json()["name"] == "Партнёры"
    listed = client.get("/api/v1/pipelines", headers=seller).get_json()["items"]
    assert "Партнёры" in [p["name"] for p in listed]


def test_a_stage_with_a_wrong_percent_is_a_russian_422(client, admin):
    pipeline = client.post("/api/v1/pipelines", json={"name": "П"}, headers=admin).get_json()
    url = f"/api/v1/pipelines/{pipeline['id']}/stages"
    response = client.post(url, json={"name": "Этап", "percent": 150}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["percent"] == "Процент — целое число от 0 до 100."
    response = client.post(
        url, json={"name": "Этап", "trigger": "nothing", "percent": 5}, headers=admin
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["trigger"] == "Выберите событие из списка."
    assert (
        client.get(f"/api/v1/pipelines/{pipeline['id']}", headers=admin).get_json()["stages"] == []
    )


def test_the_sales_pipeline_cannot_be_switched_off(client, admin):
    sales = [
        p for p in client.get("/api/v1/pipelines", headers=admin).get_json()["items"]
        if p["code"] == "sales"
    ]  # fmt: skip
    assert sales, "the migrations seed the sales pipeline"
    response = client.patch(
        f"/api/v1/pipelines/{sales[0]['id']}", json={"is_active": False}, headers=admin
    )
    assert response.status_code == 409
    assert "Воронку продаж отключить нельзя" in response.get_json()["error"]["message"]


def test_a_seller_reads_pipelines_but_may_not_change_them(client, seller):
    assert client.get("/api/v1/pipelines", headers=seller).status_code == 200
    response = client.post("/api/v1/pipelines", json={"name": "Моя"}, headers=seller)
    assert response.status_code == 403


def test_lost_reasons_are_added_renamed_and_switched_off(client, admin, seller):
    response = client.post("/api/v1/lost-reasons", json={"name": "Дорого"}, headers=admin)
    assert response.status_code == 201, response.get_json()
    reason = response.get_json()
    response = client.post("/api/v1/lost-reasons", json={"name": " Дорого "}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["name"] == "Такая причина уже есть в справочнике."
    response = client.patch(
        f"/api/v1/lost-reasons/{reason['id']}",
        json={"name": "Слишком дорого", "is_active": False},
        headers=admin,
    )
    assert response.status_code == 200
    assert response.get_json() == {"id": reason["id"], "name": "Слишком дорого", "is_active": False}
    active = client.get("/api/v1/lost-reasons?active=true", headers=seller).get_json()["items"]
    assert reason["id"] not in [r["id"] for r in active]
    every = client.get("/api/v1/lost-reasons", headers=seller).get_json()["items"]
    assert reason["id"] in [r["id"] for r in every]
    response = client.patch(
        f"/api/v1/lost-reasons/{reason['id']}", json={"is_active": True}, headers=seller
    )
    assert response.status_code == 403


# --- found by the schemathesis run --------------------------------------------------------------


@pytest.mark.parametrize("record_id", ["2147483648", "8796093022208"])
def test_an_id_past_32_bits_is_a_404_for_every_method_not_a_405(client, admin, record_id):
    for method in ("GET", "PATCH", "DELETE"):
        response = client.open(f"/api/v1/halls/{record_id}", method=method, json={}, headers=admin)
        assert response.status_code == 404, (method, response.status_code)
    response = client.patch(f"/api/v1/activities/{record_id}", json={}, headers=admin)
    assert response.status_code == 404


def test_the_document_bounds_path_ids_as_the_app_does(client):
    document = client.get("/api/v1/openapi.json").get_json()
    parameter = document["paths"]["/api/v1/halls/{hall_id}"]["get"]["parameters"][0]
    assert parameter["schema"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


def test_a_refusal_naming_an_unknown_lost_reason_is_a_422_not_a_500(
    client, db_session, make_user, api_token
):
    from tests.fixtures.activities import future, setup

    _, company, project, call = setup(db_session, make_user)
    headers = api_token("api_mgr")
    body = {"type_id": call.id, "goal": "Пригласить", "client_id": company.id,
            "project_id": project.id, "starts_at": future(1)}  # fmt: skip
    activity = client.post("/api/v1/activities", json=body, headers=headers).get_json()
    response = client.post(
        f"/api/v1/activities/{activity['id']}/complete",
        json={"kind": "refused_participation", "lost_reason_id": 987654},
        headers=headers,
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert fields["lost_reason_id"] == "Выберите причину отказа от участия."
    shown = client.get(f"/api/v1/activities/{activity['id']}", headers=headers).get_json()
    assert shown["status"] == "planned"


def test_a_cancel_with_a_body_that_is_not_an_object_is_a_400_not_a_500(
    client, db_session, make_user, api_token
):
    from tests.fixtures.activities import future, setup

    _, company, _, call = setup(db_session, make_user)
    headers = api_token("api_mgr")
    body = {"type_id": call.id, "goal": "Позвонить", "client_id": company.id,
            "starts_at": future(1)}  # fmt: skip
    activity = client.post("/api/v1/activities", json=body, headers=headers).get_json()
    url = f"/api/v1/activities/{activity['id']}/cancel"
    response = client.post(url, json="отменить", headers=headers)
    assert response.status_code == 400
    assert "JSON-объектом" in response.get_json()["error"]["message"]
    assert client.post(url, headers=headers).status_code == 200
