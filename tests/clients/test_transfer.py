"""Import of client files (CSV/XLSX, pages and API) and export of client lists."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
import zipfile
from pathlib import Path

import flask_migrate
import openpyxl
import pytest
from sqlalchemy import func, select

from erp_crm.audit.models import AuditEntry
from erp_crm.auth import services as auth_services
from erp_crm.clients import access, cleaning, contacts, importing, services, timeline
from erp_crm.clients.importing import xlsx
from erp_crm.clients.importing.engine import Engine
from erp_crm.clients.importing.job import SQLITE_BATCH_CACHE_KIB, _page_cache_for_writes, _ReadAhead
from erp_crm.clients.importing.table import bad_file
from erp_crm.clients.models import Client, ImportJob
from erp_crm.db import db, set_actor, utcnow
from erp_crm.errors import ValidationError
from tests.fixtures.app import PASSWORD, make_test_app
from tests.fixtures.app import Client as WebClient

INN_A = "7707083893"  # with КПП 773601001
INN_B = "6315001231"
INN_C = "5001007329"
INN_ZERO = "0274062111"  # Excel turns it into the number 274062111
INN_IP = "631600000105"
KPP = "773601001"
HEADER = ["Наименование", "ИНН", "КПП", "Город", "Контактное лицо", "Телефон", "E-mail"]
ROWS = [
    [
        "ООО «Ромашка»",
        INN_A,
        KPP,
        "Самара",
        "Иванов Иван",
        "+7 846 207-11-44",
        "ivanov@romashka.ru",
    ],
    ["ИП Ёлкин Пётр", INN_IP, "", "Тольятти", "Ёлкин Пётр", "8 (927) 123-45-67", ""],
    ["АО «Берёзка»", INN_B, "", "Сызрань", "", "", "info@berezka.ru"],
]


def csv_bytes(rows, *, encoding="utf-8", delimiter=";", bom=False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.fixture
def analyst(app, make_user, client, monkeypatch):
    # Runs go inline: the test's sessions share one connection, a thread would share it too.
    monkeypatch.setitem(app.config, "JOBS_IMMEDIATE", True)
    user = make_user("analyst", username="importer", full_name="Белова Ольга Николаевна")
    client.login("importer")
    return user


def upload(client, content: bytes, filename: str, note: str = ""):
    return client.submit(
        "/clients/import",
        {"file": (io.BytesIO(content), filename), "note": note},
        content_type="multipart/form-data",
    )


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.search(r"/clients/import/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def run(client, job_id: int, mapping: dict[int, str], *, dry_run: bool):
    data = {f"col_{i}": key for i, key in mapping.items()}
    data["dry_run" if dry_run else "run"] = "1"
    return client.submit(f"/clients/import/{job_id}", data)


def clients_by_inn(db_session) -> dict[str, Client]:
    db_session.expire_all()
    return {c.inn: c for c in db_session.scalars(select(Client))}


# --- reading files -------------------------------------------------------------------------------


def test_a_cp1251_semicolon_csv_is_imported_with_cyrillic_intact(client, analyst, db_session):
    response = upload(client, csv_bytes([HEADER, *ROWS], encoding="cp1251"), "клиенты.csv")
    job_id = job_id_of(response)

    page = client.get(f"/clients/import/{job_id}").get_data(as_text=True)
    assert "Windows-1251" in page and "«;»" in page
    assert "ООО «Ромашка»" in page and "Тольятти" in page
    assert '<option selected value="name">' in page  # the suggested mapping is preset

    mapping = importing.suggest_mapping(HEADER)
    assert run(client, job_id, mapping, dry_run=False).status_code == 302

    job = db_session.get(ImportJob, job_id)
    db_session.refresh(job)
    assert (job.status, job.created_count, job.rejected_count) == ("done", 3, 0)
    found = clients_by_inn(db_session)
    assert found[INN_A].name == "ООО «Ромашка»" and found[INN_A].city == "Самара"
    assert found[INN_IP].kind == "sole_trader" and found[INN_IP].name == "ИП Ёлкин Пётр"
    assert found[INN_A].created_by_id == analyst.id
    ivanov = found[INN_A].contacts[0]
    assert (ivanov.full_name, ivanov.phones, ivanov.emails) == (
        "Иванов Иван",
        ["+78462071144"],
        ["ivanov@romashka.ru"],
    )
    assert found[INN_IP].contacts[0].phones == ["+79271234567"]
    # E-mail without a name goes to the client's general contact.
    assert found[INN_B].contacts[0].full_name == importing.GENERAL_CONTACT

    report = client.get(f"/clients/import/{job_id}/report").get_data(as_text=True)
    assert "Создание" in report and "ООО «Ромашка»" in report
    done = client.get(f"/clients/import/{job_id}").get_data(as_text=True)
    assert "завершён" in done and "Импортирован" not in done
    assert 'name="run"' not in done


def test_a_utf8_bom_comma_csv_with_quoted_commas_is_read(tmp_path):
    rows = [
        ["Название", "ИНН", "Юр. адрес", "Почта"],
        ["ООО «Ромашка»", INN_A, "443110, г. Самара, ул. Мичурина, д. 23", "a@b.ru"],
    ]
    path = tmp_path / "clients.csv"
    path.write_bytes(csv_bytes(rows, delimiter=",", bom=True))
    found = importing.preview(path, "clients.csv")
    assert found.header == rows[0]  # no BOM glued to the first header
    assert found.rows == [rows[1]]
    assert found.suggested == {0: "name", 1: "inn", 2: "legal_address", 3: "contact_email"}
    assert "UTF-8" in found.source and "«,»" in found.source


def test_tab_separated_utf8_and_a_title_line_above_the_header(tmp_path):
    rows = [["Список клиентов на 01.02.2026"], [], HEADER, ROWS[0]]
    path = tmp_path / "clients.txt"
    path.write_bytes(csv_bytes(rows, delimiter="\t"))
    found = importing.preview(path, "clients.txt")
    assert found.header == HEADER
    assert found.rows[0][0] == "ООО «Ромашка»"
    assert "табуляция" in found.source


def test_excel_s_sep_hint_and_a_header_the_importer_does_not_know(tmp_path):
    path = tmp_path / "clients.csv"
    path.write_bytes(
        b"sep=,\r\n" + csv_bytes([["Org", "Tax no"], ["Клиент", INN_A]], delimiter=",")
    )
    found = importing.preview(path, "clients.csv")
    # Unknown headers stay the header (the data row's «Клиент» is not taken for one).
    assert found.header == ["Org", "Tax no"] and found.rows == [["Клиент", INN_A]]
    assert found.suggested == {}


def test_an_xlsx_file_is_imported_with_numbers_excel_made_of_inn_and_phone(
    client, analyst, db_session
):
    rows = [
        ["Клиенты выставки «Стройэкспо»"],
        ["Наименование", "ИНН", "КПП", "Регион", "ФИО", "Должность", "Телефон", "Внешний код"],
        [
            "ООО «Башнефть-Сервис»",
            int(INN_ZERO),
            "027401001",
            "Башкортостан",
            "Петров П.",
            "Директор",
            79171234567,
            "X-1",
        ],
        ["АО «Берёзка»", INN_B, None, "Самарская область", None, None, None, "X-2"],
    ]
    job_id = job_id_of(upload(client, xlsx_bytes(rows), "Стройэкспо.xlsx"))
    page = client.get(f"/clients/import/{job_id}").get_data(as_text=True)
    assert "Книга Excel" in page and "ООО «Башнефть-Сервис»" in page

    mapping = importing.suggest_mapping(rows[1])
    assert mapping[7] == "external_id" and mapping[4] == "contact_name"
    run(client, job_id, mapping, dry_run=False)

    found = clients_by_inn(db_session)
    assert set(found) == {INN_ZERO, INN_B}
    bash = found[INN_ZERO]
    assert (bash.kpp, bash.region, bash.external_id) == ("027401001", "Башкортостан", "X-1")
    assert bash.contacts[0].position == "Директор"
    assert bash.contacts[0].phones == ["+79171234567"]


# --- dry run, run, re-import ---------------------------------------------------------------------


def test_the_dry_run_creates_nothing_and_reports_every_row_with_reasons(
    client, analyst, db_session, count_rows
):
    set_actor(db_session, analyst)
    existing = services.create_client(
        db_session,
        services.ClientData(name="АО «Берёзка»", inn=INN_B, city="Самара"),
        actor=analyst,
    )
    db_session.commit()
    rows = [
        HEADER,
        ROWS[0],  # new
        ["АО «Берёзка» (обновлено)", INN_B, "", "Сызрань", "", "", ""],  # by ИНН without КПП
        ["ООО «Ошибка»", "7707083890", "", "Москва", "", "", ""],  # wrong checksum
        ["ООО «Телефон»", INN_C, "", "Москва", "Петров", "12", ""],  # wrong phone
        ["ООО «Ромашка» ещё раз", INN_A, KPP, "", "", "", ""],  # the first row's client
    ]
    before = {t: count_rows(t) for t in ("clients", "contact_persons", "audit_log")}
    job_id = job_id_of(upload(client, csv_bytes(rows), "check.csv"))
    assert run(client, job_id, importing.suggest_mapping(HEADER), dry_run=True).status_code == 302

    assert {t: count_rows(t) for t in before} == before
    job = db_session.get(ImportJob, job_id)
    db_session.refresh(job)
    assert job.status == "dry_run" and job.finished_at is not None
    assert (job.created_count, job.updated_count, job.rejected_count) == (1, 2, 2)
    progress = client.get(f"/clients/import/{job_id}/progress").get_data(as_text=True)
    assert "проверен, ничего не сохранено" in progress
    assert "Проверен (пробный прогон)" not in progress
    by_row = {r["row"]: r for r in job.report}
    assert [by_row[n]["action"] for n in (2, 3, 4, 5, 6)] == [
        "create",
        "update",
        "reject",
        "reject",
        "update",
    ]
    assert by_row[3]["client_id"] == existing.id
    assert "Неверный ИНН" in by_row[4]["errors"]["inn"]
    assert "Неверный номер телефона" in by_row[5]["errors"]["contact.phones"]
    assert db_session.get(Client, existing.id).city == "Самара"

    page = client.get(f"/clients/import/{job_id}/report?only=rejected").get_data(as_text=True)
    assert "Неверный ИНН" in page and "Отклонена" in page and "Создание" not in page
    # A message that names its field is not prefixed with the field's name once more.
    assert "ИНН:</strong> Неверный ИНН" not in page and "Неверный ИНН: не сходится" in page
    # After the dry run the mapping form is offered again, with the import button.
    assert "Импортировать" in client.get(f"/clients/import/{job_id}").get_data(as_text=True)


def test_the_run_creates_and_a_reimport_of_the_same_file_creates_no_duplicates(
    client, analyst, db_session, count_rows
):
    content = csv_bytes([[*HEADER, "Куратор"], *[[*r, "importer"] for r in ROWS]])
    first = job_id_of(upload(client, content, "clients.csv"))
    mapping = importing.suggest_mapping([*HEADER, "Куратор"])
    run(client, first, mapping, dry_run=False)
    counts = {t: count_rows(t) for t in ("clients", "contact_persons", "contact_channels")}
    assert counts["clients"] == 3
    assert {c.curator_id for c in clients_by_inn(db_session).values()} == {analyst.id}
    assert count_rows("audit_log") > 0

    second = job_id_of(upload(client, content, "clients.csv"))
    run(client, second, mapping, dry_run=False)
    job = db_session.get(ImportJob, second)
    db_session.refresh(job)
    assert (job.status, job.created_count, job.updated_count) == ("done", 0, 3)
    assert {t: count_rows(t) for t in counts} == counts

    # A new phone of a known contact (same name, other case and ё) is merged, not duplicated.
    more = csv_bytes(
        [HEADER, ["ООО «Ромашка»", INN_A, KPP, "", "ИВАНОВ иван", "+7 927 000-00-01", ""]]
    )
    run(client, job_id_of(upload(client, more, "more.csv")), mapping, dry_run=False)
    romashka = clients_by_inn(db_session)[INN_A]
    assert romashka.city == "Самара"  # an empty cell does not wipe a value
    assert len(romashka.contacts) == 1
    assert romashka.contacts[0].phones == ["+78462071144", "+79270000001"]


def test_rows_are_matched_by_external_id_first(db_session, make_user, tmp_path):
    analyst = make_user("analyst")
    set_actor(db_session, analyst)
    client = services.create_client(
        db_session,
        services.ClientData(name="Старое имя", inn=INN_B, external_id="CRM-7"),
        actor=analyst,
    )
    path = tmp_path / "ext.csv"
    path.write_bytes(csv_bytes([["Внешний код", "Наименование"], ["CRM-7", "Новое имя"]]))
    report = importing.import_file(db_session, path, "ext.csv", dry_run=False, actor=analyst)
    assert report["updated"] == 1 and report["rows"][0]["client_id"] == client.id
    assert client.name == "Новое имя" and client.inn == INN_B


def test_a_broken_run_marks_the_job_failed_with_a_russian_message(app, client, analyst, db_session):
    job_id = job_id_of(upload(client, csv_bytes([HEADER, ROWS[0]]), "gone.csv"))
    job = db_session.get(ImportJob, job_id)
    (Path(app.config["STORAGE_PATH"]) / job.stored_path).unlink()
    job.status = "running"
    db_session.commit()

    importing.run_job(app, job_id, analyst.id)

    db_session.refresh(job)
    assert job.status == "failed" and "загрузите его снова" in job.error
    fragment = client.get(f"/clients/import/{job_id}/progress").get_data(as_text=True)
    assert "hx-trigger" not in fragment and "загрузите его снова" in fragment


def test_a_run_stops_when_its_user_lost_the_right_to_import(
    app, client, analyst, make_user, db_session, count_rows
):
    job_id = job_id_of(upload(client, csv_bytes([HEADER, ROWS[0]]), "clients.csv"))
    job = db_session.get(ImportJob, job_id)
    job.status = "running"
    db_session.commit()
    manager = make_user("sales_manager")

    importing.run_job(app, job_id, manager.id)

    db_session.refresh(job)
    assert job.status == "failed" and "больше нет прав" in job.error
    assert count_rows("clients") == 0


def test_the_progress_fragment_polls_while_the_run_goes(client, analyst, db_session):
    job_id = job_id_of(upload(client, csv_bytes([HEADER, ROWS[0]]), "clients.csv"))
    job = db_session.get(ImportJob, job_id)
    job.status, job.total_rows, job.processed_rows = "running", 200, 50
    db_session.commit()
    fragment = client.get(f"/clients/import/{job_id}/progress").get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in fragment
    assert f'hx-get="/clients/import/{job_id}/progress"' in fragment
    assert "width: 25%" in fragment and "<script" not in fragment
    # A running job cannot be started twice.
    response = run(client, job_id, {0: "name"}, dry_run=False)
    assert response.status_code == 409 and "уже обрабатывается" in response.get_data(as_text=True)

    # A run whose worker died (no progress for a long time) stops polling and may be restarted.
    job.mapping = {**job.mapping, "heartbeat": "2020-01-01T00:00:00+00:00"}
    db_session.commit()
    fragment = client.get(f"/clients/import/{job_id}/progress").get_data(as_text=True)
    assert "hx-trigger" not in fragment and "не движется" in fragment
    assert run(client, job_id, {0: "name", 1: "inn"}, dry_run=False).status_code == 302
    db_session.refresh(job)
    assert (job.status, job.created_count) == ("done", 1)


# --- broken files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"\x00\x13\xff\xfe junk \x89PNG" * 50, "clients.xlsx", "не является книгой Excel"),
        (b"PK\x03\x04" + b"\x00broken zip" * 20, "clients.xlsx", "повреждён"),
        (b"", "clients.csv", "Файл пуст"),
        (b"\xef\xbb\xbf\r\n", "clients.csv", "Файл пуст"),
        (b"\x00\x01\x02binary\x00" * 30, "clients.csv", "двоичные данные"),
        (
            "Наименование;ИНН;Город\nООО Ромашка;1;Самара\nИП Пушкин;2;Москва\nАО Тест;3;Казань\n"
            "ЗАО Проверка;4;Уфа\n".encode("koi8_r"),
            "clients.csv",
            "кодировка",
        ),
        ("ООО «Ромашка»;7707083893;Самара\n".encode(), "clients.csv", "нет заголовков"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "XLS"),
        (b"%PDF-1.7", "clients.pdf", "CSV и XLSX"),
    ],
    ids=[
        "junk-xlsx",
        "corrupt-zip",
        "empty",
        "only-bom",
        "binary-csv",
        "koi8",
        "no-header",
        "xls",
        "pdf",
    ],
)
def test_a_broken_file_is_refused_with_a_russian_message_and_nothing_kept(
    app, client, analyst, count_rows, content, filename, message
):
    imports = Path(app.config["STORAGE_PATH"]) / "imports"
    stored_before = set(imports.iterdir()) if imports.exists() else set()
    response = upload(client, content, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_rows("import_jobs") == 0
    assert (set(imports.iterdir()) if imports.exists() else set()) == stored_before


def test_a_broken_file_through_the_api_is_a_422_with_the_message(
    client, make_user, api_token, count_rows
):
    make_user("analyst", username="apiimporter")
    headers = api_token("apiimporter")
    response = client.post(
        "/api/v1/clients/import",
        data={"file": (io.BytesIO(b"\x00junk\xff" * 40), "clients.xlsx")},
        headers=headers,
    )
    assert response.status_code == 422
    assert "не является книгой Excel" in response.get_json()["error"]["message"]
    assert count_rows("clients") == 0


# --- API -----------------------------------------------------------------------------------------


def test_api_import_dry_run_then_real_run(client, make_user, api_token, count_rows, db_session):
    make_user("head_of_sales", username="apihead")
    headers = api_token("apihead")
    rows = [
        ["Организация", "ИНН", "Комментарий", "Город"],
        ["ООО «Ромашка»", INN_A, "с выставки", "Самара"],
        ["ООО «Ошибка»", "123", "", ""],
    ]
    content = csv_bytes(rows, delimiter=",")
    mapping = json.dumps({"Организация": "name", "2": "", "Город": "city"})

    response = client.post(
        "/api/v1/clients/import",
        data={"file": (io.BytesIO(content), "c.csv"), "mapping": mapping},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["dry_run"] is True and count_rows("clients") == 0
    assert (body["total"], body["created"], body["updated"], body["rejected"]) == (2, 1, 0, 1)
    assert body["rows"][0] == {
        "row": 2,
        "action": "create",
        "client_id": None,
        "name": "ООО «Ромашка»",
        "errors": {},
    }
    assert body["rows"][1]["action"] == "reject" and "ИНН" in body["rows"][1]["errors"]["inn"]

    response = client.post(
        "/api/v1/clients/import",
        data={"file": (io.BytesIO(content), "c.csv"), "mapping": mapping, "dry_run": "false"},
        headers=headers,
    )
    body = response.get_json()
    assert body["dry_run"] is False and body["created"] == 1
    created = db_session.get(Client, body["rows"][0]["client_id"])
    assert created.city == "Самара" and created.notes is None  # the comment column was skipped
    assert count_rows("clients") == 1

    bad = client.post(
        "/api/v1/clients/import",
        data={"file": (io.BytesIO(content), "c.csv"), "mapping": '{"Нет такого": "name"}'},
        headers=headers,
    )
    assert bad.status_code == 422 and "Нет такого" in bad.get_json()["error"]["fields"]["mapping"]


def test_the_import_endpoint_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/clients/import"]["post"]
    assert operation["tags"] == ["clients"]
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(schema["properties"]) == {"file", "mapping", "dry_run"}


# --- export --------------------------------------------------------------------------------------


@pytest.fixture
def exported_world(db_session, make_user):
    analyst = make_user("analyst", username="exporter")
    set_actor(db_session, analyst)
    evil = services.create_client(
        db_session,
        services.ClientData(name='=HYPERLINK("http://evil")', inn=INN_A, notes="@SUM(1)"),
        actor=analyst,
    )
    contacts.add_contact(
        db_session,
        evil,
        contacts.ContactData(
            full_name="Иванов Иван",
            position="директор",
            phones=["+7 846 207-11-44"],
            emails=["a@b.ru", "c@d.ru"],
        ),
        actor=analyst,
    )
    services.create_client(
        db_session, services.ClientData(name="ООО «Берёзка»", city="Самара"), actor=analyst
    )
    db_session.commit()
    return analyst


def test_export_csv_has_a_bom_semicolons_and_neutralized_formulas(
    client, exported_world, db_session
):
    client.login("exporter")
    response = client.get("/clients/export.csv?sort=name")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["№ в CRM", "Наименование", "Полное наименование"]
    by_name = {r[1]: r for r in rows[1:]}
    evil = by_name['\'=HYPERLINK("http://evil")']
    header = rows[0]
    assert evil[header.index("Примечание")] == "'@SUM(1)"
    assert evil[header.index("Контактные лица")] == "Иванов Иван (директор)"
    assert evil[header.index("E-mail контактов")] == "a@b.ru; c@d.ru"
    assert evil[header.index("Телефоны контактов")].startswith("'+7")
    assert "ООО «Берёзка»" in by_name
    # The export is in the audit trail of the user who made it.
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "clients_exported")
    ).one()
    assert entry.changes["rows"] == 2 and entry.entity_id == exported_world.id


def test_export_xlsx_opens_with_openpyxl_and_keeps_formulas_as_text(client, exported_world):
    client.login("exporter")
    response = client.get("/clients/export.xlsx?city=Самара")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "Наименование" and len(rows) == 2
    assert rows[1][1] == "ООО «Берёзка»"

    everything = openpyxl.load_workbook(
        io.BytesIO(client.get("/clients/export.xlsx?sort=name").get_data())
    ).active
    cells = {row[1].value: row[1] for row in everything.iter_rows(min_row=2)}
    evil = cells['=HYPERLINK("http://evil")']
    assert evil.data_type == "s"  # a string, not a formula


def test_an_export_round_trips_through_the_importer(client, exported_world, db_session, tmp_path):
    client.login("exporter")
    path = tmp_path / "export.xlsx"
    path.write_bytes(client.get("/clients/export.xlsx").get_data())
    report = importing.import_file(db_session, path, "export.xlsx", actor=exported_world)
    assert (report["created"], report["updated"], report["rejected"]) == (0, 2, 0)


# --- permissions ---------------------------------------------------------------------------------


def test_a_sales_manager_gets_403_on_import_and_export(client, make_user, api_token):
    make_user("sales_manager", username="manager")
    client.login("manager")
    assert client.get("/clients/import").status_code == 403
    assert upload(client, csv_bytes([HEADER, ROWS[0]]), "c.csv").status_code == 403
    assert client.get("/clients/export.csv").status_code == 403
    assert client.get("/clients/export.xlsx").status_code == 403
    response = client.post(
        "/api/v1/clients/import",
        data={"file": (io.BytesIO(csv_bytes([HEADER, ROWS[0]])), "c.csv")},
        headers=api_token("manager"),
    )
    assert response.status_code == 403


def test_an_import_job_is_seen_by_its_creator_and_admins_only(client, analyst, make_user):
    job_id = job_id_of(upload(client, csv_bytes([HEADER, ROWS[0]]), "mine.csv"))
    make_user("analyst", username="otheranalyst")
    make_user("admin", username="boss")
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("otheranalyst")
    assert client.get(f"/clients/import/{job_id}").status_code == 403
    assert client.get(f"/clients/import/{job_id}/report").status_code == 403
    assert "mine.csv" not in client.get("/clients/import").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})
    client.login("boss")
    assert client.get(f"/clients/import/{job_id}").status_code == 200


def test_the_run_goes_in_a_background_thread_with_its_own_sessions(tmp_path):
    """Outside the test transaction (a database of its own): the real thread and its batches."""
    app = make_test_app("sqlite:///" + str(tmp_path / "thread.sqlite3"), tmp_path / "instance")
    try:
        with app.app_context():
            flask_migrate.upgrade()
            with db.job_session() as session:
                auth_services.create_user(
                    session,
                    auth_services.UserData(
                        username="threaded", full_name="Поток", role="analyst", password=PASSWORD
                    ),
                    actor=None,
                )
        app.test_client_class = WebClient
        web = app.test_client()
        web.login("threaded")
        job_id = job_id_of(upload(web, csv_bytes([HEADER, *ROWS]), "clients.csv"))
        assert run(web, job_id, importing.suggest_mapping(HEADER), dry_run=False).status_code == 302
        deadline = time.monotonic() + 30
        while "hx-trigger" in (
            fragment := web.get(f"/clients/import/{job_id}/progress").get_data(as_text=True)
        ):
            assert time.monotonic() < deadline, "the import thread did not finish"
            time.sleep(0.1)
        assert "завершён" in fragment and "Открыть отчёт" in fragment
        with app.app_context(), db.job_session() as session:
            job = session.get(ImportJob, job_id)
            assert (job.status, job.created_count, job.processed_rows) == ("done", 3, 3)
            assert session.scalar(select(func.count()).select_from(Client)) == 3
            entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "clients"))
            assert {e.actor_id for e in entries} == {job.created_by_id}
    finally:
        app.extensions["erp_db"].engine.dispose()


# --- the batch write path ------------------------------------------------------------------------


def _import(db_session, tmp_path, rows, actor, name="bulk.csv"):
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows))
    set_actor(db_session, actor)
    return importing.import_file(db_session, path, name, dry_run=False, actor=actor)


def test_bulk_import_writes_audit_rows_like_the_services_do(db_session, make_user, tmp_path):
    analyst = make_user("analyst")
    report = _import(db_session, tmp_path, [HEADER, *ROWS], analyst)
    assert (report["created"], report["rejected"]) == (3, 0)
    assert all(r["client_id"] for r in report["rows"])
    romashka = clients_by_inn(db_session)[INN_A]
    assert romashka.created_by_id == analyst.id
    # create_client's curator rule: who may not change curators curates what they create.
    expected = None if access.can_change_curator(analyst) else analyst.id
    assert romashka.curator_id == expected
    assert romashka.relationship_type == "cold"

    entries = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "clients", AuditEntry.entity_id == romashka.id
        )
    ).all()
    assert [(e.action, e.actor_id, e.label) for e in entries] == [
        ("create", analyst.id, "ООО «Ромашка»")
    ]
    # The same snapshot keys as a client created through the form's service.
    set_actor(db_session, analyst)
    formed = services.create_client(
        db_session, services.ClientData(name="Образец", inn=INN_C), actor=analyst
    )
    sample = db_session.scalar(
        select(AuditEntry).where(
            AuditEntry.entity_type == "clients", AuditEntry.entity_id == formed.id
        )
    )
    assert list(entries[0].changes) == list(sample.changes)
    assert entries[0].changes["id"] == romashka.id
    assert entries[0].changes["inn"] == INN_A and entries[0].changes["kpp"] == KPP
    assert entries[0].changes["curator_id"] == expected

    contact = romashka.contacts[0]
    contact_entries = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "contact_persons", AuditEntry.entity_id == contact.id
        )
    ).all()
    assert len(contact_entries) == 1
    entry = contact_entries[0]
    assert (entry.action, entry.actor_id, entry.label) == ("create", analyst.id, "Иванов Иван")
    assert entry.changes["phones"] == ["+78462071144"]
    assert entry.changes["emails"] == ["ivanov@romashka.ru"]
    assert entry.changes["client_id"] == romashka.id and entry.changes["is_active"] is True
    assert contact.phones == ["+78462071144"] and contact.emails == ["ivanov@romashka.ru"]

    events = timeline.timeline(db_session, romashka)
    titles = [e.title for e in events]
    assert "Контрагент создан" in titles
    assert "Добавлено контактное лицо: Иванов Иван" in titles
    assert all(e.actor_id == analyst.id for e in events)


def test_bulk_reimport_is_idempotent_and_audits_nothing_new(
    db_session, make_user, tmp_path, count_rows
):
    analyst = make_user("analyst")
    rows = [[*HEADER, "Внешний код"], *[[*r, f"EXT-{i}"] for i, r in enumerate(ROWS)]]
    _import(db_session, tmp_path, rows, analyst)
    tables = ("clients", "contact_persons", "contact_channels", "audit_log")
    before = {t: count_rows(t) for t in tables}
    report = _import(db_session, tmp_path, rows, analyst, name="again.csv")
    assert (report["created"], report["updated"], report["rejected"]) == (0, 3, 0)
    assert {t: count_rows(t) for t in tables} == before


def test_rows_of_one_batch_that_repeat_a_new_client_update_it(db_session, make_user, tmp_path):
    """The second row of a client created in the same batch updates it and merges its contact."""
    analyst = make_user("analyst")
    rows = [
        ["Наименование", "ИНН", "Город", "Контактное лицо", "Телефон", "Отрасль"],
        ["АО «Берёзка»", INN_B, "Сызрань", "Петров Пётр", "+7 846 207-11-44", ""],
        ["АО «Берёзка»", INN_B, "", "петров пётр", "+7 927 000-00-01", "Мебель"],
        ["АО «Берёзка»", INN_B, "", "Сидорова Анна", "", ""],
    ]
    report = _import(db_session, tmp_path, rows, analyst)
    assert [r["action"] for r in report["rows"]] == ["create", "update", "update"]
    assert len({r["client_id"] for r in report["rows"]}) == 1
    berezka = clients_by_inn(db_session)[INN_B]
    assert (berezka.city, berezka.industry) == ("Сызрань", "Мебель")
    assert [c.full_name for c in berezka.contacts] == ["Петров Пётр", "Сидорова Анна"]
    assert berezka.contacts[0].phones == ["+78462071144", "+79270000001"]
    actions = db_session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_type == "clients", AuditEntry.entity_id == berezka.id)
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["create", "update"]


def test_a_zip_bomb_named_xlsx_is_refused_before_it_is_unpacked(tmp_path):
    from erp_crm.errors import DomainError

    bomb = tmp_path / "clients.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/sharedStrings.xml", b"0" * (60 * 1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024
    with pytest.raises(DomainError, match="слишком велик"):
        xlsx._check_xlsx_archive(bomb)


# --- reading XLSX: python-calamine, openpyxl as the fallback --------------------------------------


def _xlsx_with(path, rows, *, patch=None, epoch1904=False):
    """An XLSX written by openpyxl; `patch(sheet_xml) -> sheet_xml` edits the sheet's XML (cells
    openpyxl cannot write: cached formula results, error cells, inline strings)."""
    workbook = openpyxl.Workbook()
    if epoch1904:
        workbook.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    sheet = workbook.active
    sheet.title = "Клиенты"
    for row in rows:
        sheet.append(row)
    for cell, number_format in (("E3", "dd.mm.yyyy"), ("F3", "[h]:mm:ss"), ("G3", "0%")):
        sheet[cell].number_format = number_format
    workbook.save(path)
    if patch is not None:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        name = "xl/worksheets/sheet1.xml"
        members[name] = patch(members[name].decode()).encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for member, data in members.items():
                archive.writestr(member, data)
    return path


def _read_all(table):
    return (table.header, table.header_row, table.total, table.source, list(table.rows))


def _cells(path):
    with importing.open_table(path, path.name) as table:
        return _read_all(table)


def _cells_by_openpyxl(path):
    with xlsx._open_with_openpyxl(path) as table:
        return _read_all(table)


_TRICKY_ROWS = [
    ["Список клиентов на 01.02.2026"],
    [None, "Наименование", "ИНН", "Телефон", "Дата", "Время", "Доля", "Согласие"],
    [
        None,
        "ООО «Башнефть-Сервис»",
        int(INN_ZERO),  # Excel's number: the leading zero is lost
        79171234567,
        dt.datetime(2024, 5, 1),
        dt.timedelta(hours=30),
        0.5,
        True,
    ],
    [None, "  АО «Берёзка»  ", INN_B, "+7 846 207-11-44", dt.datetime(2024, 5, 1, 13, 45, 10)],
    [],
    [None, "ИП Ёлкин", 3.0, -5, dt.date(2020, 2, 29), dt.time(12, 30), 0.1 + 0.2, False],
    [None, "   ", None, None, 45000.5, 1e20, 123456789012345],
]


def _formula_and_inline(sheet_xml):
    # A formula with its cached result (as Excel saves it) and a rich-text inline string.
    extra = (
        '<row r="9"><c r="B9" t="inlineStr"><is><r><t>ООО «Встро</t></r><r><t>енная»</t></r>'
        '</is></c><c r="C9"><f>1+1</f><v>7707083893</v></c>'
        '<c r="D9" t="str"><f>"a"&amp;"b"</f><v>ab</v></c></row>'
    )
    sheet_xml = sheet_xml.replace('<dimension ref="A1:H7"/>', '<dimension ref="A1:H9"/>')
    return sheet_xml.replace("</sheetData>", extra + "</sheetData>")


@pytest.mark.parametrize("epoch1904", [False, True], ids=["1900", "1904"])
def test_calamine_reads_an_xlsx_as_openpyxl_does(tmp_path, epoch1904):
    path = _xlsx_with(
        tmp_path / "clients.xlsx", _TRICKY_ROWS, patch=_formula_and_inline, epoch1904=epoch1904
    )
    assert xlsx._open_with_calamine(path) is not None  # the fast path is taken
    found = _cells(path)
    assert found == _cells_by_openpyxl(path)
    header, header_row, total, source, rows = found
    # The title line is skipped, the columns keep their places (column A is empty).
    assert (header_row, total, source) == (2, 7, "Книга Excel, лист «Клиенты»")
    assert header[1:3] == ["Наименование", "ИНН"]
    by_number = dict(rows)
    assert by_number[3][1:] == [
        "ООО «Башнефть-Сервис»",
        "274062111",
        "79171234567",
        "2024-05-01",
        "1 day, 6:00:00",
        "0.5",
        "да",
    ]
    assert by_number[4][1:] == ["АО «Берёзка»", INN_B, "+7 846 207-11-44", "2024-05-01 13:45:10"]
    assert 5 not in by_number  # the empty row
    assert by_number[6][1:] == ["ИП Ёлкин", "3", "-5", "2020-02-29", "12:30:00", "0.3", "нет"]
    assert by_number[9][1:] == ["ООО «Встроенная»", "7707083893", "ab"]  # the cached result


def test_the_row_count_of_a_book_with_a_stale_dimension_is_the_real_one(tmp_path):
    """openpyxl takes the count of rows (the progress bar's total) from <dimension>, which
    Excel keeps right; calamine counts the rows themselves, right even when it is not."""
    path = _xlsx_with(
        tmp_path / "clients.xlsx",
        _TRICKY_ROWS,
        patch=lambda xml: _formula_and_inline(xml).replace("A1:H9", "A1:H3"),
    )
    assert xlsx._open_with_calamine(path) is not None
    calamine, by_openpyxl = _cells(path), _cells_by_openpyxl(path)
    assert (calamine[2], by_openpyxl[2]) == (7, 1)
    assert calamine[:2] + calamine[3:] == by_openpyxl[:2] + by_openpyxl[3:]


@pytest.mark.parametrize(
    "patch",
    [
        # An error cell: openpyxl reads "#N/A", calamine an empty cell.
        lambda xml: xml.replace(
            "</sheetData>", '<row r="9"><c r="B9" t="e"><v>#N/A</v></c></row></sheetData>'
        ),
        # An integer of 17 digits (no producer but Excel's rounding writes it so).
        lambda xml: xml.replace(
            "</sheetData>", '<row r="9"><c r="B9"><v>12345678901234567</v></c></row></sheetData>'
        ),
    ],
    ids=["error-cell", "long-integer"],
)
def test_what_calamine_reads_otherwise_goes_to_openpyxl(tmp_path, patch):
    path = _xlsx_with(tmp_path / "clients.xlsx", _TRICKY_ROWS, patch=patch)
    assert xlsx._open_with_calamine(path) is None
    found = _cells(path)
    assert found == _cells_by_openpyxl(path)
    assert dict(found[4])[9][1] in ("#N/A", "12345678901234567")


def test_a_book_calamine_fails_on_is_read_by_openpyxl(tmp_path, monkeypatch):
    import python_calamine

    path = _xlsx_with(tmp_path / "clients.xlsx", _TRICKY_ROWS)
    expected = _cells(path)

    def broken(*_args, **_kwargs):
        raise python_calamine.CalamineError("simulated")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", broken)
    assert xlsx._open_with_calamine(path) is None
    assert _cells(path) == expected


def test_an_xlsx_neither_reader_can_open_is_refused_with_the_message(tmp_path):
    path = tmp_path / "clients.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook><broken")
    with pytest.raises(ValidationError) as raised:
        _cells(path)
    assert "повреждён" in raised.value.fields["file"]


def test_the_zip_bomb_check_comes_before_either_reader(tmp_path, monkeypatch):
    bomb = tmp_path / "clients.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (60 * 1024 * 1024))

    def must_not_run(_path):
        raise AssertionError("the archive was read before its check")

    monkeypatch.setattr(xlsx, "_open_with_calamine", must_not_run)
    monkeypatch.setattr(xlsx, "_calamine_would_differ", must_not_run)
    with pytest.raises(ValidationError, match="слишком велик"):
        _cells(bomb)


def test_a_reader_error_reaches_the_run_after_the_batches_before_it():
    """The read-ahead thread: batches come out in order, a reader's error when its turn comes."""

    def batches():
        yield [(2, ["ООО «Один»"])]
        yield [(3, ["ООО «Два»"])]
        raise bad_file("Книга Excel повреждена: чтение прервано после строки 3.")

    engine = Engine({0: "name"}, dry_run=True)
    ahead = _ReadAhead(engine, batches())
    seen = []
    with pytest.raises(ValidationError, match="после строки 3"):
        for batch, parsed in ahead:
            seen.append((batch[0][0], parsed[0].changes["name"]))
    ahead.close()
    assert seen == [(2, "ООО «Один»"), (3, "ООО «Два»")]


# --- contact checks and the batch writer ---------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        contacts.ContactData(full_name="Иванов", phones=["+7 846 207-11-44", "88462071144"]),
        contacts.ContactData(full_name=" Петров ", position=" Директор ", emails=["A@B.RU"]),
        contacts.ContactData(full_name="Сидоров", phones=["12"], emails=["not-an-address"]),
        contacts.ContactData(full_name="Сидоров", emails=["a@b.ru", "x@", "A@b.ru"]),
        contacts.ContactData(full_name="", phones=["8 (927) 123-45-67"], emails=["a@localhost"]),
        contacts.ContactData(full_name="Кузнецов", phones=["+44 20 7946 0958", "+7 999 0"]),
    ],
)
def test_the_importer_checks_contacts_as_the_service_does(db_session, data):
    def outcome(check):
        try:
            return check(db_session, data)
        except ValidationError as err:
            return err.fields

    def by_service(session, contact):
        return contacts.validate_contact(session, contact)[0]

    assert outcome(importing.validate_contact) == outcome(by_service)


def test_reserved_ids_are_new_and_written_rows_keep_them(db_session, make_user):
    from erp_crm.clients import bulk
    from erp_crm.clients.models import ContactChannel

    analyst = make_user("analyst")
    set_actor(db_session, analyst)
    connection = db_session.connection()
    ids = bulk.reserve_ids(connection, Client.__table__, 3)
    assert ids == sorted(set(ids)) and len(ids) == 3
    assert ids[0] > (db_session.scalar(select(func.max(Client.id))) or 0)
    now = utcnow()
    columns = ["id", "kind", "name", "name_norm", "readiness", "relationship_type",
               "mailing_consent", "created_at", "updated_at"]  # fmt: skip
    rows = [(i, "legal", f"ООО «{i}»", f"ооо {i}", 0, "cold", i % 2 == 0, now, now) for i in ids]
    bulk.write_rows(connection, Client.__table__, columns, rows)
    stored = db_session.execute(
        select(Client.id, Client.name, Client.mailing_consent, Client.created_at)
        .where(Client.id.in_(ids))
        .order_by(Client.id)
    ).all()
    assert [(r.id, r.name, r.mailing_consent) for r in stored] == [
        (i, f"ООО «{i}»", i % 2 == 0) for i in ids
    ]
    assert all(abs((r.created_at - now).total_seconds()) < 1 for r in stored)
    # A row added the ordinary way afterwards gets an id after the reserved ones.
    later = services.create_client(db_session, services.ClientData(name="Потом"), actor=analyst)
    assert later.id > ids[-1]
    # A database error of the bulk write is SQLAlchemy's (the batch is then redone row by row).
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), db_session.begin_nested():
        bulk.write_rows(
            db_session.connection(),
            ContactChannel.__table__,
            ["contact_id", "kind", "value"],
            [(-1, "phone", "+78462071144")],  # no such contact
        )


def test_a_nul_character_is_refused_by_the_checks_on_both_backends(db_session, make_user, tmp_path):
    analyst = make_user("analyst")
    rows = [
        ["Наименование", "ИНН", "Примечание", "Контакт"],
        ["ООО «Ромашка»", INN_A, "x" * 70_000, ""],  # the NUL lies beyond the sniffed start
        ["АО «Берёзка»", INN_B, "нуль \x00 внутри", ""],
        ["ООО «Третья»", INN_C, "", "Иванов \x00 Иван"],
    ]
    report = _import(db_session, tmp_path, rows, analyst)
    assert (report["created"], report["rejected"]) == (1, 2)
    rejected = {r["row"]: r["errors"] for r in report["rows"] if r["action"] == "reject"}
    assert "нулевой символ" in " ".join(rejected[3].values())
    assert "нулевой символ" in " ".join(rejected[4].values())
    assert set(clients_by_inn(db_session)) == {INN_A}


def test_a_row_the_database_refuses_is_rejected_and_the_rest_of_its_batch_kept(
    db_session, make_user, tmp_path, backend, monkeypatch
):
    """A rule the checks do not know, met only by the database: with the NUL check switched off,
    PostgreSQL refuses the NUL in the batch's COPY, the batch is redone row by row and only that
    row is rejected; SQLite stores it."""
    original = cleaning.clean_text

    def without_the_nul_check(value, label=None, *, limit=None):
        if isinstance(value, str) and "\x00" in value:
            return value.strip() or None
        return original(value, label, limit=limit)

    monkeypatch.setattr(cleaning, "clean_text", without_the_nul_check)
    analyst = make_user("analyst")
    rows = [
        ["Наименование", "ИНН", "Примечание"],
        ["ООО «Ромашка»", INN_A, "x" * 70_000],
        ["АО «Берёзка»", INN_B, "нуль \x00 внутри"],
        ["ООО «Третья»", INN_C, ""],
    ]
    report = _import(db_session, tmp_path, rows, analyst)
    if backend == "postgresql":
        assert (report["created"], report["rejected"]) == (2, 1)
        rejected = [r for r in report["rows"] if r["action"] == "reject"]
        assert rejected[0]["row"] == 3 and "ошибка базы данных" in rejected[0]["errors"]["row"]
        assert set(clients_by_inn(db_session)) == {INN_A, INN_C}
    else:
        assert (report["created"], report["rejected"]) == (3, 0)


def test_the_larger_sqlite_page_cache_of_a_batch_is_given_back(db_session, backend):
    def cache_size():
        return db_session.connection().exec_driver_sql("PRAGMA cache_size").scalar()

    if backend != "sqlite":  # PostgreSQL has no page cache pragma: the helper changes nothing

        def settings():
            return (
                db_session.connection()
                .exec_driver_sql(
                    "SELECT name, setting FROM pg_settings WHERE source = 'session' ORDER BY name"
                )
                .all()
            )

        before = settings()
        with _page_cache_for_writes(db_session):
            assert settings() == before
        assert settings() == before
        return
    before = cache_size()
    with _page_cache_for_writes(db_session):
        assert cache_size() == -SQLITE_BATCH_CACHE_KIB
    assert cache_size() == before
    with pytest.raises(RuntimeError), _page_cache_for_writes(db_session):
        raise RuntimeError("a failed batch")
    assert cache_size() == before
