"""Exhibition projects: the card and its dates, the team, halls, price list, services catalog,
stands with their geometry, the stand import, the pages, the API and the demo data."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp_crm.audit.models import AuditEntry
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.projects import importer, prices, services
from erp_crm.projects import stand_services as ss
from erp_crm.projects.models import Hall, Project, Stand
from tests.fixtures.projects import make_client, make_deal, make_hall, make_project, make_stand

# --- factories shared by the projects, stands and plans tests -----------------------------------


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="boss")


@pytest.fixture
def pm(make_user):
    return make_user("project_manager", username="pmgr", full_name="Лебедев Павел")


@pytest.fixture
def project(db_session, pm):
    return make_project(db_session, pm, priced=False)


# --- the project card ---------------------------------------------------------------------------


def test_a_project_manager_creates_a_project_with_a_team(db_session, pm, make_user):
    seller = make_user("sales_manager", username="seller", full_name="Кузнецова Мария")
    project = make_project(
        db_session, pm, code="agro-2027", project_manager_id=pm.id, member_ids=[seller.id]
    )
    assert project.code == "AGRO-2027"
    assert [m.user_id for m in project.members] == [seller.id]
    actions = db_session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity_type == "projects", AuditEntry.entity_id == project.id
        )
    ).all()
    assert set(actions) == {"create", "team"}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": " "}, "name", "Укажите название"),
        ({"code": ""}, "code", "Укажите код"),
        ({"code": "два слова"}, "code", "буквы, цифры"),
        ({"opening_date": None}, "opening_date", "дату открытия"),
        ({"build_up_date": dt.date(2027, 3, 17)}, "build_up_date", "позже открытия"),
        ({"closing_date": dt.date(2027, 3, 15)}, "closing_date", "раньше открытия"),
        ({"dismantling_date": dt.date(2027, 3, 17)}, "dismantling_date", "раньше закрытия"),
        ({"opening_date": "32.03.2027"}, "opening_date", "ДД.ММ.ГГГГ"),
        ({"status": "archived"}, "status", "статус"),
    ],
)
def test_wrong_project_fields_are_refused_in_russian(db_session, pm, overrides, field, message):
    with pytest.raises(ValidationError) as err:
        make_project(db_session, pm, **overrides)
    assert message in err.value.fields[field]


def test_project_codes_are_unique_and_dates_may_be_typed(db_session, pm):
    make_project(db_session, pm)
    with pytest.raises(ValidationError) as err:
        make_project(db_session, pm, name="Другой")
    assert "уже у другого" in err.value.fields["code"]
    other = make_project(
        db_session,
        pm,
        code="X-1",
        opening_date="01.06.2027",
        closing_date="2027-06-03",
        build_up_date=None,
        dismantling_date=None,
    )
    assert other.opening_date == dt.date(2027, 6, 1)


def test_the_team_takes_only_active_sellers(db_session, pm, make_user):
    accountant = make_user("accountant", username="buh")
    with pytest.raises(ValidationError) as err:
        make_project(db_session, pm, member_ids=[accountant.id])
    assert "менеджеры по продажам" in err.value.fields["member_ids"]
    with pytest.raises(ValidationError) as err:
        make_project(db_session, pm, project_manager_id=accountant.id)
    assert "project_manager_id" in err.value.fields


def test_changing_the_team_is_audited(db_session, project, pm, make_user):
    a = make_user("sales_manager", username="aaa1")
    b = make_user("head_of_sales", username="bbb1")
    data = services.ProjectData.from_model(project)
    data.member_ids = [a.id, b.id]
    services.update_project(db_session, project, data, actor=pm)
    data.member_ids = [b.id]
    services.update_project(db_session, project, data, actor=pm)
    assert [m.user_id for m in project.members] == [b.id]
    changes = db_session.scalars(
        select(AuditEntry.changes)
        .where(AuditEntry.entity_type == "projects", AuditEntry.action == "team")
        .order_by(AuditEntry.id)
    ).all()
    assert changes[-1] == {"team": [sorted([a.id, b.id]), [b.id]]}


def test_only_project_managers_change_projects(db_session, make_user, project):
    seller = make_user("sales_manager")
    head = make_user("head_of_sales")
    for who in (seller, head):
        with pytest.raises(PermissionDenied):
            make_project(db_session, who, code="NOPE")
        with pytest.raises(PermissionDenied):
            make_hall(db_session, project, who)


# --- halls --------------------------------------------------------------------------------------


def test_halls_need_a_positive_size_and_a_unique_name(db_session, project, pm):
    make_hall(db_session, project, pm)
    with pytest.raises(ValidationError) as err:
        make_hall(db_session, project, pm, width="-5", depth="0")
    assert err.value.fields["width_m"] == "Значение не может быть отрицательным."
    assert err.value.fields["depth_m"] == "Значение должно быть больше нуля."
    assert "уже есть" in err.value.fields["name"]
    hall = make_hall(db_session, project, pm, name="Павильон 2", width="36,5", depth="24")
    assert hall.width_m == Decimal("36.50")


def test_a_hall_cannot_shrink_under_its_stands_and_only_an_empty_one_is_deleted(
    db_session, project, pm
):
    hall = make_hall(db_session, project, pm, width=30, depth=20)
    make_stand(db_session, project, hall, pm, "1", x=24, y=0, width=6, depth=3)
    with pytest.raises(ValidationError) as err:
        services.update_hall(
            db_session, hall, services.HallData(name=hall.name, width_m=28, depth_m=20), actor=pm
        )
    assert "30,00" in err.value.fields["width_m"] or "30.00" in err.value.fields["width_m"]
    with pytest.raises(ValidationError):
        services.delete_hall(db_session, hall, actor=pm)
    empty = make_hall(db_session, project, pm, name="Пустой")
    services.delete_hall(db_session, empty, actor=pm)
    assert db_session.get(Hall, empty.id) is None


# --- price list and services --------------------------------------------------------------------


def _price_list(**overrides):
    data = {
        "registration_fee": "15 000",
        "default_vat_rate": "auto",
        "prices": {"raw": ("9 500,00", "auto"), "shell": ("12500", "22"), "open": ("", "auto")},
        "surcharges": {
            "corner": ("percent", "10"),
            "peninsula": ("amount", "25000"),
            "island": ("percent", ""),
        },
    }
    data.update(overrides)
    return prices.PriceListData(**data)


def test_the_price_list_is_stored_as_decimals_and_audited(db_session, project, pm):
    prices.save_price_list(db_session, project, _price_list(), actor=pm)
    stored = {p.stand_type: (p.price_per_m2, p.vat_rate) for p in project.stand_prices}
    assert stored == {"raw": (Decimal("9500.00"), "auto"), "shell": (Decimal("12500.00"), "22")}
    assert {s.position: (s.kind, s.value) for s in project.surcharges} == {
        "corner": ("percent", Decimal("10.00")),
        "peninsula": ("amount", Decimal("25000.00")),
    }
    assert project.registration_fee == Decimal("15000.00")
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "price_list").order_by(AuditEntry.id.desc())
    ).first()
    assert entry.changes["price.raw"] == [None, ["9500.00", "auto"]]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"registration_fee": "-1"}, "registration_fee", "отрицательным"),
        ({"prices": {"raw": ("abc", "auto")}}, "price_raw", "Нужно число"),
        ({"prices": {"raw": ("100.555", "auto")}}, "price_raw", "2 знаков"),
        ({"prices": {"raw": ("100", "18")}}, "vat_raw", "Ставка НДС"),
        ({"surcharges": {"corner": ("percent", "150")}}, "surcharge_corner", "не больше 100"),
        ({"surcharges": {"corner": ("share", "5")}}, "kind_corner", "процент или сумма"),
    ],
)
def test_wrong_prices_are_refused_in_russian(db_session, project, pm, overrides, field, message):
    with pytest.raises(ValidationError) as err:
        prices.save_price_list(db_session, project, _price_list(**overrides), actor=pm)
    assert message in err.value.fields[field]


def test_a_changed_price_list_does_not_touch_priced_deal_lines(
    db_session, project, pm, admin, make_user
):
    from erp_crm.deals.models import DealLine

    prices.save_price_list(db_session, project, _price_list(), actor=pm)
    deal = make_deal(db_session, project, make_user(), make_client(db_session, admin))
    line = DealLine(
        deal_id=deal.id,
        kind="space",
        description="Площадь",
        unit="м²",
        unit_code="055",
        quantity=Decimal(12),
        unit_price=Decimal("9500.00"),
        base_amount=Decimal("114000.00"),
        amount=Decimal("114000.00"),
        vat_amount=Decimal("20557.38"),
        area_m2=Decimal(12),
    )
    db_session.add(line)
    db_session.flush()
    prices.save_price_list(
        db_session, project, _price_list(prices={"raw": ("11000", "auto")}), actor=pm
    )
    db_session.refresh(line)
    assert line.unit_price == Decimal("9500.00") and line.amount == Decimal("114000.00")


def test_the_services_catalog_checks_okei_and_price(db_session, project, pm):
    with pytest.raises(ValidationError) as err:
        prices.create_service(
            db_session,
            project,
            prices.ServiceData(name="Стул", unit_code="шт", price="-1"),
            actor=pm,
        )
    assert "ОКЕИ" in err.value.fields["unit_code"] and "price" in err.value.fields
    item = prices.create_service(
        db_session,
        project,
        prices.ServiceData(name="Стул", unit="шт", unit_code="796", price="650", vat_rate="22"),
        actor=pm,
    )
    prices.update_service(
        db_session,
        item,
        prices.ServiceData(name="Стул", unit="шт", unit_code="796", price="700", is_active=False),
        actor=pm,
    )
    assert item.price == Decimal("700.00") and not item.is_active and item.vat_rate == "auto"


# --- stands -------------------------------------------------------------------------------------


def test_a_stand_gets_its_area_from_its_size_and_russian_names(db_session, project, pm):
    hall = make_hall(db_session, project, pm)
    stand = make_stand(
        db_session,
        project,
        hall,
        pm,
        "A-1",
        width="4,5",
        depth=3,
        stand_type="Оборудованный стенд",
        position="угловой",
    )
    assert (stand.area_m2, stand.stand_type, stand.position) == (
        Decimal("13.50"),
        "shell",
        "corner",
    )


@pytest.mark.parametrize(
    ("kw", "field", "message"),
    [
        ({"x": 58}, "x_m", "границы зала"),
        ({"x": 1, "y": 1}, "x_m", "пересекается со стендом № A-1"),
        ({"number": "A-1", "x": 10}, "number", "уже есть стенд № A-1"),
        ({"width": 0}, "width_m", "больше нуля"),
        ({"stand_type": "двухэтажный"}, "stand_type", "Тип стенда"),
        ({"position": "diagonal"}, "position", "Расположение"),
    ],
)
def test_stands_stay_inside_the_hall_and_never_overlap(db_session, project, pm, kw, field, message):
    hall = make_hall(db_session, project, pm)
    make_stand(db_session, project, hall, pm, "A-1")
    kw = {"number": "A-2", **kw}
    with pytest.raises(ValidationError) as err:
        make_stand(db_session, project, hall, pm, kw.pop("number"), **kw)
    assert message in err.value.fields[field]


def test_touching_stands_do_not_overlap(db_session, project, pm):
    hall = make_hall(db_session, project, pm)
    first = make_stand(db_session, project, hall, pm, "1", x="0.1", width="0.2")
    second = make_stand(db_session, project, hall, pm, "2", x="0.3", width="0.2")
    # sharing an edge is no overlap: both are placed, side by side
    assert second.x_m == first.x_m + first.width_m


def test_a_taken_stand_keeps_its_area_type_and_position(db_session, project, pm, admin, make_user):
    from erp_crm.projects import stands

    hall = make_hall(db_session, project, pm)
    stand = make_stand(db_session, project, hall, pm, "A-1")
    deal = make_deal(db_session, project, make_user(), make_client(db_session, admin))
    stands.reserve(db_session, stand.id, deal.id, until=None, actor=admin)
    data = ss.StandData.from_model(stand)
    with pytest.raises(ValidationError) as err:
        ss.update_stand(db_session, stand, data.merged_with({"area_m2": "12"}), actor=pm)
    assert "площадь" in err.value.message
    moved = ss.update_stand(
        db_session, stand, data.merged_with({"number": "A-1a", "x_m": 5}), actor=pm
    )
    assert (moved.number, moved.x_m, moved.status) == ("A-1a", Decimal("5.00"), "reserved")
    with pytest.raises(Exception) as err:
        ss.set_stand_active(db_session, stand, False, actor=pm)
    assert "забронирован" in str(err.value)
    stands.release(db_session, stand.id, actor=admin)
    assert not ss.set_stand_active(db_session, stand, False, actor=pm).is_active
    assert ss.set_stand_active(db_session, stand, True, actor=pm).is_active


# --- import -------------------------------------------------------------------------------------

CSV_RU = (
    "зал;номер;площадь;тип;расположение;x;y;ширина;глубина\n"
    "Павильон 1;A-1;;необорудованная;линейный;0;0;3;3\n"
    "Павильон 1;A-2;12,5;оборудованный;угловой;3;0;4;3\n"
    "павильон 1;A-3;9;открытая;остров;1;1;3;3\n"
    "Павильон 9;Z-1;9;raw;row;0;10;3;3\n"
    "Павильон 1;A-4;9;круглый;row;20;0;3;3\n"
    "Павильон 1;A-5;-9;raw;row;30;0;3;3\n"
)


def _import(db_session, project, pm, content, filename="stands.csv", dry_run=False):
    return importer.import_stands(db_session, project, filename, content, actor=pm, dry_run=dry_run)


def test_a_dry_run_reports_rejected_rows_and_saves_nothing(db_session, project, pm):
    make_hall(db_session, project, pm)
    report = _import(db_session, project, pm, CSV_RU.encode(), dry_run=True)
    assert (report.count("created"), report.count("updated")) == (2, 0)
    rejected = {r.number: r.message for r in report.rejected}
    assert "пересекается со стендом № A-1" in rejected["A-3"]
    assert "Павильон 9" in rejected["Z-1"] and "не найден" in rejected["Z-1"]
    assert "Тип стенда" in rejected["A-4"]
    assert "отрицательным" in rejected["A-5"]
    assert db_session.scalar(select(func.count()).select_from(Stand)) == 0


def test_a_real_import_creates_stands_and_a_second_one_updates_them(db_session, project, pm):
    make_hall(db_session, project, pm)
    report = _import(db_session, project, pm, CSV_RU.encode("cp1251"))
    assert report.count("created") == 2 and len(report.rejected) == 4
    a2 = db_session.scalar(select(Stand).where(Stand.number == "A-2"))
    assert (a2.area_m2, a2.stand_type, a2.position) == (Decimal("12.50"), "shell", "corner")
    again = "зал,номер,x,y,ширина,глубина\nПавильон 1,A-1,0,0,3,3\nПавильон 1,A-2,3,5,4,3\n"
    report = _import(db_session, project, pm, again.encode())
    assert (report.count("unchanged"), report.count("updated"), report.count("created")) == (
        1,
        1,
        0,
    )
    db_session.refresh(a2)
    assert (a2.y_m, a2.area_m2, a2.stand_type) == (Decimal("5.00"), Decimal("12.50"), "shell")
    assert db_session.scalar(select(func.count()).select_from(Stand)) == 2


def test_stands_import_from_xlsx_with_english_headers(db_session, project, pm):
    import openpyxl

    make_hall(db_session, project, pm, name="Hall A")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Hall", "Number", "Area, m2", "Type", "Position", "X", "Y", "Width", "Depth"])
    sheet.append(["Hall A", 101, 18, "shell", "island", 10, 10, 6, 3])
    sheet.append(["Hall A", "102", None, "open", "peninsula", 0.5, 0, 2.5, 2])
    buffer = io.BytesIO()
    book.save(buffer)
    report = _import(db_session, project, pm, buffer.getvalue(), filename="plan.xlsx")
    assert report.count("created") == 2, report.as_dict()
    stand = db_session.scalar(select(Stand).where(Stand.number == "101"))
    assert (stand.stand_type, stand.position, stand.area_m2) == (
        "shell",
        "island",
        Decimal("18.00"),
    )
    assert db_session.scalar(select(Stand.area_m2).where(Stand.number == "102")) == Decimal("5.00")


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "a.csv", "пуст"),
        ("номер;x\n1;2\n".encode(), "a.csv", "Нет столбцов"),
        (b"PK\x03\x04broken", "a.xlsx", "Excel"),
        (b"hello", "a.pdf", "CSV или XLSX"),
    ],
)
def test_unreadable_files_are_refused(db_session, project, pm, content, filename, message):
    with pytest.raises(ValidationError) as err:
        _import(db_session, project, pm, content, filename=filename)
    assert message in err.value.fields["file"]


# --- pages --------------------------------------------------------------------------------------


def test_a_project_is_created_on_its_page(client, db_session, pm, make_user):
    seller = make_user("sales_manager", username="seller1")
    client.login("pmgr")
    response = client.submit(
        "/projects/new",
        {
            "name": "Медицина и здоровье 2027",
            "code": "MED-2027",
            "status": "planned",
            "opening_date": "2027-11-23",
            "closing_date": "2027-11-25",
            "member_ids": [str(seller.id)],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    project = db_session.scalar(select(Project).where(Project.code == "MED-2027"))
    page = client.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Медицина и здоровье 2027" in page and seller.full_name in page


def test_a_wrong_project_form_answers_422_with_the_messages(client, pm):
    client.login("pmgr")
    response = client.submit(
        "/projects/new",
        {"name": "X", "code": "X", "opening_date": "2027-05-10", "closing_date": "2027-05-01"},
    )
    assert response.status_code == 422
    assert "Закрытие не может быть раньше открытия." in response.get_data(as_text=True)


def test_the_price_list_page_saves_and_others_only_read_it(client, db_session, project, make_user):
    client.login("pmgr")
    data = {
        "registration_fee": "15000",
        "default_vat_rate": "auto",
        "price_raw": "9500",
        "vat_raw": "auto",
        "price_shell": "",
        "vat_shell": "auto",
        "price_open": "4500",
        "vat_open": "none",
        "kind_corner": "percent",
        "surcharge_corner": "10",
        "kind_peninsula": "percent",
        "surcharge_peninsula": "",
        "kind_island": "amount",
        "surcharge_island": "-1",
    }
    response = client.submit(f"/projects/{project.id}/prices", data)
    assert response.status_code == 422
    assert "Значение не может быть отрицательным." in response.get_data(as_text=True)
    response = client.submit(
        f"/projects/{project.id}/prices", {**data, "surcharge_island": "30000"}
    )
    assert response.status_code == 302
    db_session.refresh(project)
    assert {p.stand_type for p in project.stand_prices} == {"raw", "open"}
    make_user("sales_manager", username="reader")
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("reader")
    page = client.get(f"/projects/{project.id}/prices").get_data(as_text=True)
    assert "9 500,00 ₽/м²" in page.replace("\xa0", " ") and 'name="price_raw"' not in page


def test_the_stand_import_page_shows_the_report(client, db_session, project, pm):
    make_hall(db_session, project, pm)
    db_session.commit()
    client.login("pmgr")
    response = client.submit(
        f"/projects/{project.id}/stands/import",
        {"file": (io.BytesIO(CSV_RU.encode()), "stands.csv"), "dry_run": "y"},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Пробный прогон" in page and "Павильон 9" in page


# --- API ----------------------------------------------------------------------------------------


def test_the_api_creates_and_lists_projects_and_stands(client, db_session, pm, api_token):
    headers = api_token("pmgr")
    response = client.post(
        "/api/v1/projects",
        json={
            "name": "Агропромышленный форум Поволжья 2027",
            "code": "AGRO-2027",
            "opening_date": "2027-10-05",
            "closing_date": "2027-10-07",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    project_id = response.get_json()["id"]
    project = db_session.get(Project, project_id)
    hall = make_hall(db_session, project, pm)
    db_session.commit()
    response = client.post(
        f"/api/v1/projects/{project_id}/stands",
        json={
            "hall_id": hall.id,
            "number": "A-1",
            "x_m": 0,
            "y_m": 0,
            "width_m": "3",
            "depth_m": 4,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["area_m2"] == "12.00"
    response = client.post(
        f"/api/v1/projects/{project_id}/stands",
        json={"hall_id": hall.id, "number": "A-2", "x_m": 1, "y_m": 1, "width_m": 3, "depth_m": 3},
        headers=headers,
    )
    assert response.status_code == 422
    assert "пересекается" in response.get_json()["error"]["fields"]["x_m"]
    body = client.get(f"/api/v1/projects/{project_id}/stands", headers=headers).get_json()
    assert [s["number"] for s in body["items"]] == ["A-1"] and body["items"][0]["status"] == "free"
    project_body = client.get(f"/api/v1/projects/{project_id}", headers=headers).get_json()
    assert project_body["halls"][0]["name"] == "Павильон 1"
    listed = client.get("/api/v1/projects", headers=headers).get_json()["items"]
    assert [p["code"] for p in listed] == ["AGRO-2027"]


# --- demo ---------------------------------------------------------------------------------------


def test_the_demo_projects_are_believable(db_session, make_user):
    from erp_crm.projects.demo import load_demo_projects

    users = {
        "admin": make_user("admin", username="admin"),
        "project": make_user("project_manager", username="project"),
        **{f"manager{i}": make_user("sales_manager", username=f"manager{i}") for i in (1, 2, 3)},
    }
    projects = load_demo_projects(db_session, users)
    assert [p.code for p in projects] == ["VSE-2027", "AGRO-2027", "MED-2027"]
    assert all(p.city == "Самара" and p.opening_date.year == 2027 for p in projects)
    count = db_session.scalar(select(func.count()).select_from(Stand))
    assert 300 <= count <= 1000
    positions = set(db_session.scalars(select(Stand.position).distinct()))
    assert positions == {"row", "corner", "peninsula", "island"}
    assert all(p.stand_prices and p.services and len(p.members) == 3 for p in projects)


def test_built_in_form_messages_are_russian_in_every_area(client, pm):
    """WTForms' own messages (a date it cannot read, a choice not in the list) come in Russian."""
    client.login("pmgr")
    response = client.submit(
        "/projects/new",
        {"name": "X", "code": "X", "status": "no-such", "opening_date": "10 мая"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Not a valid" not in page
    assert "Неверное значение даты." in page
