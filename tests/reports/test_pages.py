"""The report pages, their drill-downs, XLSX exports and the JSON API on the hand-counted
department (tests/fixtures/reports.py)."""

from __future__ import annotations

import io
import re
from html import unescape

from openpyxl import load_workbook

from erp_crm.ui import ru_number

YEAR_ARGS = "date_from=2026-01-01&date_to=2026-12-31"


def _links(html: str, figure: str) -> list[tuple[str, str]]:
    """(href, shown value) of the figure's drill-down links."""
    pattern = rf'data-figure="{figure}" href="([^"]+)">([^<]+)</a>'
    return [(href.replace("&amp;", "&"), value) for href, value in re.findall(pattern, html)]


def test_the_department_page_shows_rows_a_total_and_the_definition(dept, client):
    client.login("rep_head")
    response = client.get(f"/reports/department?{YEAR_ARGS}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Анна Петрова" in html and "Борис Иванов" in html and "Итого" in html
    assert "продвинул клиента вперёд" in html  # the definition is on the page
    anna_row = next(r for r in html.split("<tr ") if f'data-manager="{dept["anna"].id}"' in r)
    assert [v for _h, v in _links(anna_row, "won")] == ["1", ru_number(12), ru_number(114000)]
    assert [v for _h, v in _links(anna_row, "lost")] == ["1"]
    planned = [v for _h, v in _links(html, "planned")]
    assert planned[-1] == "7"  # the total row comes last


def test_a_figure_links_to_exactly_its_records(dept, client):
    client.login("rep_head")
    html = client.get(f"/reports/department?{YEAR_ARGS}").get_data(as_text=True)
    anna = dept["anna"].id
    href = next(h for h, _v in _links(html, "lost") if f"manager_id={anna}" in h)
    page = client.get(href).get_data(as_text=True)
    assert re.findall(r'data-record="(\d+)"', page) == [str(dept["d4"].id)]
    assert 'id="records-total">1<' in page


def test_a_manager_sees_their_own_report_and_records_only(dept, client):
    client.login("rep_anna")
    html = client.get(f"/reports/manager?{YEAR_ARGS}").get_data(as_text=True)
    assert "Персональный отчёт: Анна Петрова" in html
    assert "ООО «Первый»" in html  # the postponements table
    other = dept["boris"].id
    assert client.get(f"/reports/manager?manager_id={other}").status_code == 403
    assert client.get(f"/reports/records?figure=done&manager_id={other}").status_code == 403
    # Without a manager the drill-down is narrowed to her own records.
    page = client.get(f"/reports/records?figure=done&{YEAR_ARGS}").get_data(as_text=True)
    shown = set(re.findall(r'data-record="(\d+)"', page))
    assert shown == {str(dept["a"]["a1"].id), str(dept["a"]["a2"].id)}


def test_the_drill_down_pages_through_all_its_records(dept, client, monkeypatch):
    from erp_crm.reports import views

    client.login("rep_head")
    url = f"/reports/records?figure=planned&{YEAR_ARGS}"
    everything = re.findall(r'data-record="(\d+)"', client.get(url).get_data(as_text=True))
    assert len(everything) == 7  # the department's planned contacts, one page by default
    monkeypatch.setattr(views, "PER_PAGE", 3)
    pages = [client.get(f"{url}&page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    shown = [re.findall(r'data-record="(\d+)"', html) for html in pages]
    assert [len(ids) for ids in shown] == [3, 3, 1]
    assert [i for ids in shown for i in ids] == everything  # in order, none twice, none left
    assert 'class="pagination' in pages[0] and 'id="records-total">7<' in pages[2]
    # The pager's links are this list's URL with every argument kept (repeated ones too).
    tagged = client.get(f"{url}&tag=a&tag=b&page=2").get_data(as_text=True)
    links = [unescape(h) for h in re.findall(r'class="page-link" href="([^"]+)"', tagged)]
    assert links[0] == f"/reports/records?figure=planned&{YEAR_ARGS}&tag=a&tag=b&page=1"
    assert {link.rsplit("page=", 1)[1] for link in links} == {"1", "2", "3"}
    # A page past the last shows the last one; a broken number the first.
    assert (
        re.findall(r'data-record="(\d+)"', client.get(f"{url}&page=99").get_data(as_text=True))
        == shown[2]
    )
    assert (
        re.findall(r'data-record="(\d+)"', client.get(f"{url}&page=x").get_data(as_text=True))
        == shown[0]
    )


def test_a_project_manager_sees_the_group_of_their_project_only(dept, client, make_user):
    lead = make_user("project_manager", username="rep_pm")
    dept["project2"].project_manager_id = lead.id
    client.login("rep_pm")
    group = client.get(f"/reports/project/{dept['project2'].id}?{YEAR_ARGS}")
    assert group.status_code == 200
    # the managers' names are no links to personal reports the project manager may not open
    assert "Анна Петрова" in group.get_data(as_text=True)
    assert "/reports/manager?" not in group.get_data(as_text=True)
    assert client.get(f"/reports/project/{dept['project'].id}").status_code == 403
    records = client.get(
        f"/reports/records?figure=lost&project_id={dept['project2'].id}&{YEAR_ARGS}"
    ).get_data(as_text=True)
    assert re.findall(r'data-record="(\d+)"', records) == [str(dept["d4"].id)]
    assert client.get("/reports/records?figure=lost").status_code == 403


def test_a_reversed_period_is_explained_in_russian(dept, client):
    client.login("rep_head")
    response = client.get("/reports/department?date_from=2026-12-01&date_to=2026-01-01")
    assert response.status_code == 422
    assert "Конец периода раньше его начала." in response.get_data(as_text=True)
    response = client.get("/reports/department?date_from=вчера")
    assert response.status_code == 422
    assert "Дата в формате ГГГГ-ММ-ДД." in response.get_data(as_text=True)


def test_the_department_xlsx_has_a_row_per_manager_and_the_total(dept, client):
    client.login("rep_head")
    response = client.get(f"/reports/department.xlsx?{YEAR_ARGS}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[2]
    by_name = {r[0]: dict(zip(header, r, strict=False)) for r in rows[3:] if r and r[0]}
    assert by_name["Итого"]["Запланировано контактов"] == 7
    assert by_name["Анна Петрова"]["Продано, ₽"] == 114000
    assert by_name["Борис Иванов"]["Переносов на пару"] == 0.5
    names = ["Анна Петрова", "Борис Иванов", "Руководитель ОП"]
    assert sum(by_name[n]["Выполнено"] for n in names) == by_name["Итого"]["Выполнено"]


def test_the_api_gives_the_same_figures_with_the_same_filters(dept, client, api_token):
    headers = api_token("rep_head")
    body = client.get(f"/api/v1/reports/department?{YEAR_ARGS}", headers=headers).get_json()
    total = body["total"]["figures"]
    assert (total["planned"], total["done"], total["won_amount"]) == (7, 4, "114000.00")
    assert total["effectiveness_pct"] == "50.0"
    rows = {r["name"]: r["figures"] for r in body["rows"]}
    assert sum(r["planned"] for r in rows.values()) == total["planned"]
    records = client.get(
        f"/api/v1/reports/records?figure=won&{YEAR_ARGS}", headers=headers
    ).get_json()
    assert records == {"figure": "won", "kind": "deal", "total": 1, "ids": [dept["d1"].id]}
    bad = client.get("/api/v1/reports/records?figure=nothing", headers=headers)
    assert bad.status_code == 422
    own = client.get(f"/api/v1/reports/manager?{YEAR_ARGS}", headers=api_token("rep_anna"))
    assert own.get_json()["manager"]["figures"]["postponed"] == 1


def test_the_funnel_page_shows_the_stages_beside_their_chart(dept, client):
    client.login("rep_head")
    project = dept["project"].id
    response = client.get(f"/reports/funnel?project_id={project}&{YEAR_ARGS}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="funnel-deals">2<' in html
    assert "data-chart=" in html and "chart.umd.min.js" in html
    reached = [v for _h, v in _links(html, "reached")]
    assert reached == ["2", "2", "2", "1", "1", "1", "0", "0", "0"]
    href = _links(html, "reached")[3][0]  # «Переговоры» (40 %): D1 only
    page = client.get(href).get_data(as_text=True)
    assert re.findall(r'data-record="(\d+)"', page) == [str(dept["d1"].id)]


def test_the_funnel_of_a_manager_counts_their_own_deals(dept, client):
    client.login("rep_boris")
    project = dept["project"].id
    html = client.get(f"/reports/funnel?project_id={project}&{YEAR_ARGS}").get_data(as_text=True)
    assert 'id="funnel-deals">1<' in html  # D2 only


def test_the_funnel_is_closed_to_the_accountant(dept, client, make_user):
    make_user("accountant", username="rep_acc")
    client.login("rep_acc")
    assert client.get("/reports/funnel").status_code == 403


def test_the_funnel_api_has_the_pages_figures(dept, client, api_token, db_session):
    from erp_crm.deals import services as deals

    pipeline = deals.pipeline_by_code(db_session, "sales").id
    body = client.get(
        f"/api/v1/reports/funnel?project_id={dept['project'].id}&pipeline_id={pipeline}&{YEAR_ARGS}",
        headers=api_token("rep_head"),
    ).get_json()
    assert body["deals"] == 2 and [s["reached"] for s in body["stages"]][:4] == [2, 2, 2, 1]
    assert body["area"]["capacity"] == "48.00"
    missing = client.get("/api/v1/reports/funnel", headers=api_token("rep_head"))
    assert missing.status_code == 422


def test_the_department_pdf_prints_the_rows_and_the_total(dept, client):
    import pdfplumber

    client.login("rep_head")
    response = client.get(f"/reports/department.pdf?{YEAR_ARGS}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    with pdfplumber.open(io.BytesIO(response.data)) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    assert "Отчёт отдела продаж" in text
    assert "Анна Петрова" in text and "Итого" in text
    total_line = next(line for line in text.splitlines() if line.startswith("Итого"))
    assert total_line.split()[1:3] == ["7", "4"]  # planned, done


def test_the_funnel_xlsx_has_the_stages_of_the_page(dept, client):
    client.login("rep_head")
    response = client.get(f"/reports/funnel.xlsx?project_id={dept['project'].id}&{YEAR_ARGS}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    rows = list(book["Воронка"].iter_rows(values_only=True))
    reached = [r[2] for r in rows[3:12]]
    assert reached == [2, 2, 2, 1, 1, 1, 0, 0, 0]
    assert ("Сделок", 2) in [tuple(r[:2]) for r in rows]


def _record_cells(html: str) -> dict[str, list[str]]:
    """{record id: its cells' text} of a drill-down page."""
    rows = re.findall(r'<tr data-record="(\d+)">(.*?)</tr>', html, flags=re.S)
    return {
        record: [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        ]
        for record, row in rows
    }


def test_each_kind_of_drill_down_lists_its_records_columns(dept, client):
    client.login("rep_head")
    contacts = _record_cells(
        client.get(f"/reports/records?figure=done&{YEAR_ARGS}").get_data(as_text=True)
    )
    cells = contacts[str(dept["a"]["a1"].id)]
    # start, type, client, goal, responsible, status, result
    assert cells[1:5] == ["Звонок", "ООО «Первый»", "Пригласить", "Анна Петрова"]
    assert cells[5] == "Выполнен" and cells[6] != "—"
    deals = _record_cells(
        client.get(f"/reports/records?figure=lost&{YEAR_ARGS}").get_data(as_text=True)
    )
    d4 = dept["d4"]
    # №, title, client, manager, stage, m², amount, closed
    assert deals[str(d4.id)][2:5] == ["ООО «Второй»", "Анна Петрова", d4.stage.name]
    assert deals[str(d4.id)][7].startswith("25.11.2026 ")
    ratings = _record_cells(
        client.get(f"/reports/records?figure=rated&{YEAR_ARGS}").get_data(as_text=True)
    )
    assert sorted(r[1:6] for r in ratings.values()) == [
        ["ООО «Второй»", "Борис Иванов", "3", "3", "3"],
        ["ООО «Первый»", "Анна Петрова", "5", "4", "4"],
    ]
