"""Client import: rows are matched against the base as the rows above them left it.

A row that changes a client's ИНН/КПП, external id or name is seen by the rows after it (in the
same batch, in later batches, in the dry run and in the run alike); a row whose external id and
ИНН+КПП point to two different clients is refused; the API checks the mapping as the page does.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import func, select

from erp_crm.audit.models import AuditEntry
from erp_crm.clients import importing, services
from erp_crm.clients.importing import engine as import_engine
from erp_crm.clients.importing.matching import Overlay
from erp_crm.clients.models import Client, ImportJob
from erp_crm.db import set_actor
from erp_crm.errors import ValidationError

INN_X = "7707083893"
INN_Y = "7728168971"
INN_Z = "5001007329"
KPP = "772801001"
KPP_2 = "773601001"
HEADER = ["Наименование", "ИНН", "КПП", "Внешний код"]
TABLES = ("clients", "contact_persons", "audit_log")


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


@pytest.fixture(params=[import_engine.BATCH_SIZE, 1], ids=["one-batch", "batch-per-row"])
def batch_size(request, monkeypatch) -> int:
    """Rows of a file in one batch, and every row in a batch of its own."""
    monkeypatch.setattr(import_engine, "BATCH_SIZE", request.param)
    return request.param


@pytest.fixture
def headers(make_user, api_token) -> dict[str, str]:
    make_user("analyst", username="matcher", full_name="Сверкина Анна")
    return api_token("matcher")


@pytest.fixture
def api_import(client, headers):
    def post(rows: list[list[str]], *, dry_run: bool, mapping: dict | None = None):
        data = {
            "file": (io.BytesIO(csv_bytes(rows)), "clients.csv"),
            "dry_run": "true" if dry_run else "false",
        }
        if mapping is not None:
            data["mapping"] = json.dumps(mapping)
        return client.post("/api/v1/clients/import", data=data, headers=headers)

    def run(rows: list[list[str]], *, dry_run: bool) -> dict:
        response = post(rows, dry_run=dry_run)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    run.post = post  # type: ignore[attr-defined]
    return run


def plan(report: dict) -> list[tuple]:
    """What the report says of each row, but the client's id (see same_clients)."""
    return [(r["row"], r["action"], r["name"], r["errors"]) for r in report["rows"]]


def same_clients(dry: dict, done: dict) -> None:
    """The dry run names the existing client a row updates; one the file creates has no id yet."""
    created: set[int] = set()
    for predicted, happened in zip(dry["rows"], done["rows"], strict=True):
        if predicted["client_id"] is not None:
            assert predicted["client_id"] == happened["client_id"], predicted
        elif happened["action"] == "update":
            assert happened["client_id"] in created, happened
        if happened["action"] == "create":
            created.add(happened["client_id"])


def snapshot(db_session) -> list[tuple]:
    db_session.expire_all()
    query = select(Client.id, Client.name, Client.inn, Client.kpp, Client.external_id)
    return list(db_session.execute(query.order_by(Client.id)))


def counts(count_rows) -> dict[str, int]:
    return {table: count_rows(table) for table in TABLES}


def dry_then_run(api_import, db_session, count_rows, rows) -> tuple[dict, dict]:
    """The dry run changes nothing and predicts the run's report row by row."""
    before, state = counts(count_rows), snapshot(db_session)
    dry = api_import(rows, dry_run=True)
    assert counts(count_rows) == before and snapshot(db_session) == state
    done = api_import(rows, dry_run=False)
    assert plan(dry) == plan(done)
    same_clients(dry, done)
    assert [dry[k] for k in ("total", "created", "updated", "rejected")] == [
        done[k] for k in ("total", "created", "updated", "rejected")
    ]
    return dry, done


def by_inn(db_session) -> dict[tuple[str, str | None], list[int]]:
    found: dict[tuple[str, str | None], list[int]] = {}
    for client_id, _, inn, kpp, _ in snapshot(db_session):
        found.setdefault((inn, kpp), []).append(client_id)
    return found


# --- a row sees the ИНН/КПП an earlier row gave a client -----------------------------------------


def test_a_row_with_the_inn_an_earlier_row_gave_a_client_updates_it(
    api_import, db_session, count_rows, batch_size
):
    first = api_import([HEADER, ["Репро", INN_X, KPP, "R-1"]], dry_run=False)
    assert first["created"] == 1
    repro = first["rows"][0]["client_id"]
    second = [HEADER, ["Репро", INN_Y, KPP, "R-1"], ["Репро", INN_Y, KPP, ""]]

    dry, done = dry_then_run(api_import, db_session, count_rows, second)
    assert [(r["action"], r["client_id"]) for r in done["rows"]] == [
        ("update", repro),
        ("update", repro),
    ]
    assert (done["created"], done["updated"], done["rejected"]) == (0, 2, 0)
    assert snapshot(db_session) == [(repro, "Репро", INN_Y, KPP, "R-1")]

    # The same file again: nothing new, and the dry run still says so.
    before = counts(count_rows)
    dry, done = dry_then_run(api_import, db_session, count_rows, second)
    assert (done["created"], done["updated"]) == (0, 2)
    assert count_rows("clients") == 1 and counts(count_rows)["contact_persons"] == 0
    assert count_rows("audit_log") == before["audit_log"]  # nothing changed, nothing audited


def test_the_inn_a_client_left_is_free_for_the_rows_after(
    api_import, db_session, count_rows, batch_size
):
    """A row with the client's old ИНН/КПП no longer finds it: it creates a client of its own."""
    first = api_import([HEADER, ["Репро", INN_X, KPP, "R-1"]], dry_run=False)
    repro = first["rows"][0]["client_id"]
    rows = [HEADER, ["Репро", INN_Y, KPP, "R-1"], ["Преемник", INN_X, KPP, ""]]

    dry, done = dry_then_run(api_import, db_session, count_rows, rows)
    assert [r["action"] for r in done["rows"]] == ["update", "create"]
    assert by_inn(db_session) == {
        (INN_Y, KPP): [repro],
        (INN_X, KPP): [done["rows"][1]["client_id"]],
    }

    before = counts(count_rows)
    dry, done = dry_then_run(api_import, db_session, count_rows, rows)
    assert [r["action"] for r in done["rows"]] == ["update", "update"]
    assert counts(count_rows) == before


def test_a_client_the_file_creates_is_found_by_its_name_and_its_new_name(
    api_import, db_session, count_rows, batch_size
):
    """Rows with a name only find a client an earlier row created (with an ИНН) or renamed."""
    first = api_import([HEADER, ["Старое имя", INN_X, KPP, "R-1"]], dry_run=False)
    renamed = first["rows"][0]["client_id"]
    rows = [
        HEADER,
        ["ООО «Дельта»", INN_Z, "", ""],
        ["ооо дельта", "", "", ""],
        ["Омега", "", "", "R-1"],
        ["Омега", "", "", ""],
    ]
    dry, done = dry_then_run(api_import, db_session, count_rows, rows)
    assert [r["action"] for r in done["rows"]] == ["create", "update", "update", "update"]
    delta = done["rows"][0]["client_id"]
    assert [r["client_id"] for r in done["rows"]] == [delta, delta, renamed, renamed]
    assert count_rows("clients") == 2

    dry, done = dry_then_run(api_import, db_session, count_rows, rows)
    assert (done["created"], done["updated"]) == (0, 4)
    assert count_rows("clients") == 2


def test_the_dry_run_of_the_import_page_predicts_its_run_across_batches(
    app, client, make_user, db_session, count_rows, monkeypatch
):
    """The page's background run: one transaction per batch, the dry run's rolled back."""
    monkeypatch.setitem(app.config, "JOBS_IMMEDIATE", True)
    monkeypatch.setattr(import_engine, "BATCH_SIZE", 1)
    analyst = make_user("analyst", username="pager")
    set_actor(db_session, analyst)
    repro = services.create_client(
        db_session,
        services.ClientData(name="Репро", inn=INN_X, kpp=KPP, external_id="R-1"),
        actor=analyst,
    )
    db_session.commit()
    client.login("pager")
    content = csv_bytes([HEADER, ["Репро", INN_Y, KPP, "R-1"], ["Репро", INN_Y, KPP, ""]])
    mapping = importing.suggest_mapping(HEADER)

    def job(dry_run: bool) -> ImportJob:
        response = client.submit(
            "/clients/import",
            {"file": (io.BytesIO(content), "repro.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        job_id = int(re.search(r"/clients/import/(\d+)$", response.headers["Location"]).group(1))
        data = {f"col_{i}": key for i, key in mapping.items()}
        data["dry_run" if dry_run else "run"] = "1"
        assert client.submit(f"/clients/import/{job_id}", data).status_code == 302
        found = db_session.get(ImportJob, job_id)
        db_session.refresh(found)
        return found

    dry = job(dry_run=True)
    assert count_rows("clients") == 1
    done = job(dry_run=False)
    assert (dry.status, done.status) == ("dry_run", "done")
    assert plan({"rows": dry.report}) == plan({"rows": done.report})
    same_clients({"rows": dry.report}, {"rows": done.report})
    assert [(r["action"], r["client_id"]) for r in done.report] == [
        ("update", repro.id),
        ("update", repro.id),
    ]
    assert (done.created_count, done.updated_count) == (0, 2)
    assert snapshot(db_session) == [(repro.id, "Репро", INN_Y, KPP, "R-1")]


# --- an external id of one client with the ИНН/КПП of another ------------------------------------


@pytest.fixture
def two_clients(db_session, make_user):
    keeper = make_user("analyst", username="keeper")
    set_actor(db_session, keeper)
    alpha = services.create_client(
        db_session,
        services.ClientData(name="Альфа", inn=INN_X, kpp=KPP, external_id="EXT-1"),
        actor=keeper,
    )
    beta = services.create_client(
        db_session,
        services.ClientData(name="Бета", inn=INN_Y, kpp=KPP_2, external_id="EXT-2"),
        actor=keeper,
    )
    db_session.commit()
    return alpha, beta


CONFLICT = "Внешний код EXT-1 у «Альфа», а ИНН/КПП — у «Бета»: строка не загружена."


@pytest.mark.parametrize(
    "rows",
    [
        [HEADER, ["Конфликт", INN_Y, KPP_2, "EXT-1"]],
        # No КПП in the file: Альфа would keep its own КПП… and get Бета's ИНН with it.
        [["Наименование", "ИНН", "Внешний код"], ["Конфликт", INN_Y, "EXT-1"]],
    ],
    ids=["inn-and-kpp", "inn-only"],
)
def test_a_row_whose_external_id_and_inn_name_two_clients_is_refused(
    api_import, db_session, count_rows, two_clients, batch_size, rows
):
    alpha, beta = two_clients
    if len(rows[0]) == 3:  # Альфа's КПП is Бета's: the ИНН alone would make them one
        db_session.execute(Client.__table__.update().where(Client.id == alpha.id).values(kpp=KPP_2))
        db_session.commit()
    rows = [*rows, rows[1]]  # the same row twice: both refused
    before, state = counts(count_rows), snapshot(db_session)

    dry, done = dry_then_run(api_import, db_session, count_rows, rows)
    assert (done["created"], done["updated"], done["rejected"]) == (0, 0, 2)
    for report in (dry, done):
        assert [r["errors"] for r in report["rows"]] == [{"external_id": CONFLICT}] * 2
    assert snapshot(db_session) == state and counts(count_rows) == before
    audited = select(func.count()).select_from(AuditEntry)
    assert db_session.scalar(audited) == before["audit_log"]


def test_a_row_may_not_take_the_inn_a_client_got_earlier_in_the_file(
    api_import, db_session, count_rows, two_clients, batch_size
):
    """The other client may be one the file creates, or one an earlier row moved there."""
    alpha, beta = two_clients
    rows = [
        HEADER,
        ["Гамма", INN_Z, KPP, ""],  # creates Гамма
        ["Конфликт", INN_Z, KPP, "EXT-1"],  # Альфа onto Гамма: refused
    ]
    dry, done = dry_then_run(api_import, db_session, count_rows, rows)
    assert [r["action"] for r in done["rows"]] == ["create", "reject"]
    assert done["rows"][1]["errors"] == {
        "external_id": "Внешний код EXT-1 у «Альфа», а ИНН/КПП — у «Гамма»: строка не загружена."
    }

    # Альфа moves to a free ИНН; a later row may then not move Бета onto it.
    rows = [HEADER, ["Альфа", "6315001231", KPP, "EXT-1"], ["Бета", "6315001231", KPP, "EXT-2"]]
    dry, done = dry_then_run(api_import, db_session, count_rows, rows)
    assert [r["action"] for r in done["rows"]] == ["update", "reject"]
    assert done["rows"][1]["errors"] == {
        "external_id": "Внешний код EXT-2 у «Бета», а ИНН/КПП — у «Альфа»: строка не загружена."
    }


def test_an_external_id_row_that_keeps_the_requisites_is_not_refused_for_old_duplicates(
    api_import, db_session, count_rows, two_clients, batch_size
):
    """Two clients that already share ИНН/КПП: a row that leaves them so is no conflict."""
    alpha, beta = two_clients
    db_session.execute(
        Client.__table__.update().where(Client.id == beta.id).values(inn=INN_X, kpp=KPP)
    )
    db_session.commit()
    dry, done = dry_then_run(
        api_import, db_session, count_rows, [HEADER, ["Альфа-2", INN_X, KPP, "EXT-1"]]
    )
    assert [(r["action"], r["client_id"]) for r in done["rows"]] == [("update", alpha.id)]


# --- the API checks the mapping as the import page does -----------------------------------------


def test_an_api_mapping_naming_a_column_the_file_lacks_is_a_422(api_import, count_rows):
    rows = [HEADER, ["Репро", INN_X, KPP, "R-1"]]
    for dry_run in (True, False):
        response = api_import.post(rows, dry_run=dry_run, mapping={"7": "notes"})
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["error"]["fields"]["mapping"] == "В файле нет столбца № 8."
    assert count_rows("clients") == 0
    with pytest.raises(ValidationError) as page:  # the page's check of the same mapping
        importing.check_mapping({0: "name", 1: "inn", 7: "notes"}, len(HEADER))
    assert page.value.fields == {"mapping": "В файле нет столбца № 8."}

    # A column wider than the header, as the page's preview shows it, may be mapped.
    wide = [["Наименование", "ИНН"], ["Репро", INN_X, "с выставки"]]
    response = api_import.post(wide, dry_run=False, mapping={"2": "notes"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 1


def test_the_dry_run_overlay_takes_back_a_failed_batch_and_indexes_names_when_asked():
    overlay = Overlay()
    overlay.begin()
    created = overlay.add(None, services.ClientData(name="ООО «Гамма»", inn=INN_Z, kpp=KPP))
    moved = overlay.add(7, services.ClientData(name="Альфа", inn=INN_X, external_id="EXT-1"))
    assert overlay.find(set(), {INN_Z}, set()) == [created]
    assert overlay.by_name is None  # no row matched by name yet: no name index

    overlay.begin()  # the next batch moves Альфа and fails
    mark = overlay.mark()
    overlay.change(moved, services.ClientData(name="Омега", inn=INN_Y, external_id="EXT-1"))
    assert overlay.find({"EXT-1"}, {INN_Y}, {"омега"}) == [moved]
    assert overlay.find(set(), {INN_X}, {"альфа"}) == []
    overlay.undo(mark)
    assert (moved.name, moved.inn) == ("Альфа", INN_X)
    assert overlay.find(set(), {INN_X}, {"альфа", "ооо гамма"}) == [created, moved]
    assert overlay.find(set(), {INN_Y}, {"омега"}) == []

    overlay.begin()
    overlay.add(8, services.ClientData(name="Бета"))
    overlay.undo()
    assert set(overlay.overrides) == {7} and overlay.find(set(), set(), {"бета"}) == []


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_row_without_a_name_and_with_a_bad_email_is_rejected_for_both(
    db_session, make_user, tmp_path, dry_run
):
    analyst = make_user("analyst")
    set_actor(db_session, analyst)
    path = tmp_path / "noname.csv"
    path.write_bytes(csv_bytes([["Наименование", "ИНН", "E-mail"], ["", "7707083893", "не-почта"]]))
    report = importing.import_file(db_session, path, "noname.csv", dry_run=dry_run, actor=analyst)
    [row] = report["rows"]
    assert row["action"] == "reject"
    assert row["errors"]["name"] == "Укажите наименование."
    assert "contact.emails" in row["errors"]
    assert db_session.scalar(select(func.count()).select_from(Client)) == 0


def test_the_displayed_russian_form_is_read_without_parsing_with_normalize_phones_answers():
    import random

    from erp_crm.clients.importing.rows import _phone_e164
    from erp_crm.core.text import display_phone, normalize_phone

    rnd = random.Random(13)
    raws = ["+7 846 207-11-44", "+7 000 207-11-44", "+7 800 555-35-35", "+7 999 000-00-00"]
    raws += [display_phone("+78462071144;ext=305"), "8 846 207-11-44", "+7 846 2071144"]
    for prefix in range(0, 100_000, 7):
        digits = f"{prefix:05d}{rnd.randrange(100_000):05d}"
        raws.append(f"+7 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}")
    _phone_e164.cache_clear()
    assert [_phone_e164(raw) for raw in raws] == [normalize_phone(raw) for raw in raws]
    assert _phone_e164("+7 846 207-11-44") == "+78462071144"
