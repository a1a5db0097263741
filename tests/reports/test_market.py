"""Market analytics and the rebook rate on the hand-counted department
(tests/fixtures/reports.py)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

from erp_crm.clients.models import CompetitorExhibition, CompetitorParticipation
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services as deals
from erp_crm.reports import market


def _win(session, deal, area, actor):
    deal_lines.add_space_line(session, deal, stand_type="raw", area_m2=str(area), actor=actor)
    stage = next(s for s in deals.pipeline_by_code(session, "sales").stages if s.percent == 70)
    deals.move_to_stage(session, deal, stage, actor=actor)


def _next_year(dept, session):
    p2 = dept["project2"]
    p2.opening_date, p2.closing_date = dt.date(2028, 3, 10), dt.date(2028, 3, 12)
    session.flush()
    return p2


def test_the_base_by_relationship_region_and_participation(dept, db_session):
    s = db_session
    fair = CompetitorExhibition(name="СтройЭкспо конкурента")
    s.add(fair)
    s.flush()
    s.add_all(
        [
            CompetitorParticipation(client_id=dept["c1"].id, exhibition_id=fair.id, year=2025),
            CompetitorParticipation(client_id=dept["c2"].id, exhibition_id=fair.id, year=2025),
        ]
    )
    s.flush()
    report = market.market(s)
    assert report.total == 2  # C3 was merged into C1
    assert {label: n for _v, label, n in report.by_relationship} == {
        "Текущий": 1,
        "Потенциальный": 1,
    }
    assert [(v, label, n) for v, label, n in report.by_region] == [(None, market.NO_VALUE, 2)]
    assert [(p["name"], p["exhibitors"], p["area_m2"]) for p in report.our_projects] == [
        ("ВолгаСтройЭкспо-2027", 1, D("12.00"))
    ]
    assert report.competitors == [
        {"id": fair.id, "name": "СтройЭкспо конкурента", "year": 2025, "clients": 2}
    ]


def test_the_rebook_rate_by_count_and_m2_with_the_reasons_of_those_who_did_not(dept, db_session):
    s, head = db_session, dept["head"]
    _win(s, dept["d2"], 6, head)  # C2 took 6 m² of P too: P's exhibitors are C1 (12) and C2 (6)
    p2 = _next_year(dept, s)
    assert market.previous_edition(s, p2).id == dept["project"].id
    again = deals.create_deal(
        s, deals.DealData(client_id=dept["c1"].id, project_id=p2.id), actor=head
    )
    _win(s, again, 10, head)  # C1 booked again; C2 lost P2 («Нет бюджета»)
    report = market.rebook(s, p2, dept["project"])
    assert (report.exhibitors, report.area_m2) == (2, D("18.00"))
    assert (report.rebooked, report.rebooked_m2) == (1, D("12.00"))
    assert (report.rate_count, report.rate_m2) == (D("50.0"), D("66.7"))
    assert report.not_rebooked == [
        {
            "client_id": dept["c2"].id,
            "client": "ООО «Второй»",
            "area_m2": D("6.00"),
            "why": "Нет бюджета",
        }
    ]
    assert report.reasons == [("Нет бюджета", 1, D("6.00"))]


def test_the_market_and_rebook_pages(dept, db_session, client):
    p2 = _next_year(dept, db_session)
    client.login("rep_anna")
    html = client.get("/reports/market").get_data(as_text=True)
    assert 'id="market-total">2<' in html
    # A figure opens the client list with the same filter: «current» → C1 only.
    href = re.search(r'href="([^"]*relationship=current[^"]*)"', html).group(1)
    listing = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
    assert "ООО «Первый»" in listing and "ООО «Второй»" not in listing
    page = client.get(f"/reports/rebook/{p2.id}").get_data(as_text=True)
    assert re.search(r'id="rate-count">0[,.]0', page)  # C1 has no deal in P2 yet
    assert "сделки нет" in page


def test_a_malformed_previous_edition_falls_back_to_the_series(dept, client):
    client.login("rep_anna")
    for bad in ("abc", "99999999999999999999", "-3"):
        response = client.get(f"/reports/rebook/{dept['project2'].id}?previous_id={bad}")
        assert response.status_code == 200
