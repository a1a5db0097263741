"""Deal pages: the card and its totals, lines and stage moves through the forms, losing, access,
the client card's deals block, and the pipelines admin."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from flask import render_template_string
from flask_login import login_user
from sqlalchemy import select

from erp_crm import signals
from erp_crm.clients.demo import load_demo_clients
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import next_steps, pipelines, services
from erp_crm.deals.demo import load_demo_deals
from erp_crm.deals.models import Deal, LostReason, Pipeline, Stage
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from erp_crm.projects.models import ServiceItem, Stand
from erp_crm.ui import ru_number
from tests.fixtures.deals import make_client, make_project


@pytest.fixture
def world(db_session, make_user):
    manager = make_user("sales_manager", username="pages_mgr")
    project = make_project(db_session)
    company = make_client(db_session, manager)
    deal = services.create_deal(
        db_session, services.DealData(client_id=company.id, project_id=project.id), actor=manager
    )
    deal.pricing_date = dt.date(2027, 1, 10)  # VAT 22%, whatever day the tests run
    db_session.commit()
    stands = db_session.scalars(
        select(Stand).where(Stand.project_id == project.id).order_by(Stand.number)
    ).all()
    item = db_session.scalar(select(ServiceItem).where(ServiceItem.project_id == project.id))
    return {
        "manager": manager,
        "project": project,
        "company": company,
        "deal": deal,
        "stands": stands,
        "item": item,
    }


def stage_of(session, code, percent) -> Stage:
    return next(s for s in services.pipeline_by_code(session, code).stages if s.percent == percent)


def cell(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, f"no #{element_id} on the page"
    return match.group(1).strip()


def test_lines_added_through_the_card_add_up_to_the_kopeck(client, world, db_session):
    deal, corner = world["deal"], world["stands"][0]
    client.login("pages_mgr")
    path = f"/deals/{deal.id}"
    card = client.get(path).get_data(as_text=True)
    assert "Павильон 1, № A1" in card  # the free stands are offered
    answers = [
        client.submit(f"{path}/lines/stand", {"stand_id": corner.id}, token_page=path),
        client.submit(f"{path}/lines/registration", token_page=path),
        client.submit(
            f"{path}/lines/service",
            {"service_item_id": world["item"].id, "quantity": "3"},
            token_page=path,
        ),
        client.submit(
            f"{path}/lines/space", {"stand_type": "shell", "area_m2": "4,5"}, token_page=path
        ),
    ]
    assert [r.status_code for r in answers] == [302, 302, 302, 302]
    db_session.expire_all()
    deal = db_session.get(Deal, deal.id)
    # 12 m² × 9 500 + 10 % corner = 125 400; 15 000; 3 × 3 750,50 = 11 251,50; 4,5 × 12 000 = 54 000
    assert deal.amount == D("205651.50")
    # VAT 22/122 per line, rounded per line: 22 613,11 + 2 704,92 + 2 028,96 + 9 737,70
    assert deal.vat_amount == D("37084.69")
    assert deal.area_m2 == D("16.50")
    html = client.get(path).get_data(as_text=True)
    assert cell(html, "deal-total") == ru_number(D("205651.50")) == "205\xa0651,50"
    assert cell(html, "deal-vat") == ru_number(D("37084.69"))
    assert cell(html, "deal-area") == "16,50"
    assert "22%" in html and "Итого" in html and "в т.ч. НДС" in html
    assert "Павильон 1, № A1" not in html  # the stand is held now, no longer offered
    db_session.refresh(corner)
    assert corner.status == "reserved" and corner.deal_id == deal.id


def test_a_discount_and_removing_a_line_reprice_the_deal(client, world, db_session):
    deal, manager = world["deal"], world["manager"]
    deal_lines.add_stand_line(db_session, deal, world["stands"][1], actor=manager)
    deal_lines.add_registration_line(db_session, deal, actor=manager)
    db_session.commit()
    client.login("pages_mgr")
    path = f"/deals/{deal.id}"
    refused = client.submit(
        f"{path}/discount", {"discount_kind": "percent", "discount_value": "10"}, token_page=path
    )
    assert refused.status_code == 422
    assert "Укажите причину скидки." in refused.get_data(as_text=True)
    answer = client.submit(
        f"{path}/discount",
        {"discount_kind": "percent", "discount_value": "10", "discount_reason": "Постоянный"},
        token_page=path,
    )
    assert answer.status_code == 302
    db_session.expire_all()
    deal = db_session.get(Deal, deal.id)
    assert deal.amount == D("116100.00")  # (114 000 + 15 000) − 10 %
    registration = next(line for line in deal.lines if line.kind == "registration")
    client.submit(f"/deals/lines/{registration.id}/remove", token_page=path)
    db_session.expire_all()
    assert db_session.get(Deal, deal.id).amount == D("102600.00")


def test_losing_without_a_reason_is_refused_and_changes_nothing(client, world, db_session):
    deal, stand = world["deal"], world["stands"][2]
    deal_lines.add_stand_line(db_session, deal, stand, actor=world["manager"])
    db_session.commit()
    client.login("pages_mgr")
    path = f"/deals/{deal.id}"
    answer = client.submit(
        f"{path}/lose", {"lost_reason_id": "", "lost_comment": "передумали"}, token_page=path
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Выберите причину отказа из списка." in html
    db_session.expire_all()
    deal, stand = db_session.get(Deal, deal.id), db_session.get(Stand, stand.id)
    assert (deal.outcome, deal.lost_reason_id, deal.lost_comment) == ("open", None, None)
    assert stand.status == "reserved" and stand.deal_id == deal.id

    reason = db_session.scalar(select(LostReason).where(LostReason.name == "Нет бюджета"))
    answer = client.submit(
        f"{path}/lose",
        {"lost_reason_id": reason.id, "lost_comment": "бюджет урезали"},
        token_page=path,
    )
    assert answer.status_code == 302
    db_session.expire_all()
    assert db_session.get(Deal, deal.id).outcome == "lost"
    assert db_session.get(Stand, stand.id).status == "free"
    assert "Нет бюджета" in client.get(path).get_data(as_text=True)


def test_stage_moves_through_the_card_keep_the_rules_and_the_history(client, world, db_session):
    deal = world["deal"]
    client.login("pages_mgr")
    path = f"/deals/{deal.id}"
    deferred = stage_of(db_session, "deferred", 0)
    refused = client.submit(f"{path}/stage", {"stage_id": deferred.id}, token_page=path)
    assert refused.status_code == 422
    assert "дату следующего контакта" in refused.get_data(as_text=True)
    signed = stage_of(db_session, "sales", 70)
    refused = client.submit(f"{path}/stage", {"stage_id": signed.id}, token_page=path)
    assert "Продажа без стенда или площади невозможна" in refused.get_data(as_text=True)
    answer = client.submit(
        f"{path}/stage",
        {"stage_id": deferred.id, "next_contact_date": "2027-01-15", "note": "после праздников"},
        token_page=path,
    )
    assert answer.status_code == 302
    db_session.expire_all()
    deal = db_session.get(Deal, deal.id)
    assert deal.pipeline.code == "deferred"
    assert next_steps.next_contact(db_session, deal.id) == dt.datetime(
        2027, 1, 15, 7, 0, tzinfo=dt.UTC
    )
    html = client.get(path).get_data(as_text=True)
    history = html[html.index('id="stage-history"') :]
    assert "Отложенный спрос (0%)" in history and "после праздников" in history


def test_a_manager_sees_another_managers_deal_but_cannot_act_on_it(
    client, world, db_session, make_user
):
    make_user("sales_manager", username="pages_other")
    deal = world["deal"]
    deal_lines.add_registration_line(db_session, deal, actor=world["manager"])
    db_session.commit()
    line_id = deal.lines[0].id
    client.login("pages_other")
    path = f"/deals/{deal.id}"
    card = client.get(path)
    assert card.status_code == 200 and "только просмотр" in card.get_data(as_text=True)
    assert f'action="{path}/lose"' not in card.get_data(as_text=True)
    reason = db_session.scalar(select(LostReason.id).where(LostReason.name == "Нет бюджета"))
    for url, data in [
        (f"{path}/lines/registration", {}),
        (f"{path}/lines/service", {"service_item_id": world["item"].id, "quantity": "1"}),
        (f"{path}/stage", {"stage_id": stage_of(db_session, "sales", 10).id}),
        (f"{path}/lose", {"lost_reason_id": reason}),
        (f"{path}/discount", {"discount_kind": ""}),
        (f"/deals/lines/{line_id}/remove", {}),
    ]:
        assert client.submit(url, data, token_page=path).status_code == 403, url
    db_session.expire_all()
    deal = db_session.get(Deal, deal.id)
    assert deal.outcome == "open" and len(deal.lines) == 1


def test_the_list_filters_and_sums_the_filtered_deals(client, world, db_session, make_user):
    manager = world["manager"]
    deal_lines.add_stand_line(db_session, world["deal"], world["stands"][0], actor=manager)
    other_project = make_project(db_session, code="EXPO28", name="ПромЭкспо-2028")
    other = make_client(db_session, manager, name="АО «Вектор»", inn="7736207543")
    second = services.create_deal(
        db_session,
        services.DealData(client_id=other.id, project_id=other_project.id),
        actor=manager,
    )
    deal_lines.add_registration_line(db_session, second, actor=manager)
    db_session.commit()
    client.login("pages_mgr")
    html = client.get("/deals/").get_data(as_text=True)
    assert "Ромашка" in html and "Вектор" in html
    assert ru_number(D("140400.00")) in html  # 125 400 + 15 000
    filtered = client.get(f"/deals/?project_id={world['project'].id}").get_data(as_text=True)
    assert "Вектор" not in filtered
    sums = filtered[filtered.index('id="deal-sums"') :][:400]
    assert ru_number(D("125400.00")) in sums and "12,00 м²" in sums
    by_name = client.get("/deals/?q=вектор").get_data(as_text=True)
    assert "Вектор" in by_name and "Ромашка" not in by_name


def test_a_deal_opens_from_the_client_card_link(client, world, db_session, make_user):
    make_user("sales_manager", username="pages_new")
    project = make_project(db_session, code="EXPO29", name="АгроЭкспо-2029")
    db_session.commit()
    client.login("pages_new")
    company = world["company"]
    form = client.get(f"/deals/new?client_id={company.id}")
    assert form.status_code == 200 and company.name in form.get_data(as_text=True)
    refused = client.submit("/deals/new", {"client_id": company.id, "project_id": ""})
    assert refused.status_code == 422
    assert "Выберите выставочный проект." in refused.get_data(as_text=True)
    answer = client.submit(
        "/deals/new", {"client_id": company.id, "project_id": project.id, "title": ""}
    )
    assert answer.status_code == 302
    deal = db_session.scalar(select(Deal).where(Deal.project_id == project.id))
    assert deal.manager.username == "pages_new" and deal.title.endswith("АгроЭкспо-2029")
    duplicate = client.submit(
        "/deals/new",
        {"client_id": company.id, "project_id": project.id},
        headers={"Referer": "http://localhost/deals/new"},
    )
    assert duplicate.status_code == 302  # flashed and sent back
    assert "уже есть сделка" in client.get("/deals/new").get_data(as_text=True)


def test_the_client_card_block_groups_deals_and_lists_participation(app, world, db_session):
    deal, manager = world["deal"], world["manager"]
    deal_lines.add_stand_line(db_session, deal, world["stands"][0], actor=manager)
    services.move_to_stage(db_session, deal, stage_of(db_session, "sales", 70), actor=manager)
    db_session.commit()
    with app.test_request_context("/clients/1"):
        login_user(manager)
        # The block reaches the client card through the client_card_sections signal.
        sections = signals.answers(
            signals.client_card_sections, world["company"], session=db_session, actor=manager
        )
        [section] = [s for s in sections if s.template == "deals/_client_deals.html"]
        html = render_template_string(
            "{% include section.template %}", client=world["company"], section=section
        )
    assert "ВолгаСтройЭкспо-2027" in html and "Выиграна" in html
    assert "Участие в наших выставках" in html
    assert f"/deals/new?client_id={world['company'].id}" in html
    assert ru_number(D("125400.00")) in html


# --- pipelines admin ----------------------------------------------------------------------------


def test_the_admin_adds_a_stage_and_reorders_the_pipeline(client, db_session, make_user):
    make_user("admin", username="pipe_admin")
    client.login("pipe_admin")
    pipeline = services.pipeline_by_code(db_session, "deferred")
    url = f"/admin/pipelines/{pipeline.id}/stages/new"
    refused = client.submit(url, {"name": "Звонок", "percent": "150"}, token_page=url)
    assert refused.status_code == 422
    assert "Процент — целое число от 0 до 100." in refused.get_data(as_text=True)
    answer = client.submit(
        url,
        {"name": "Звонок через месяц", "percent": "3", "position": "2", "trigger": ""},
        token_page=url,
    )
    assert answer.status_code == 302

    def names() -> list[str]:
        db_session.expire_all()
        stages = db_session.get(Pipeline, pipeline.id).stages
        return [s.name for s in sorted(stages, key=lambda s: s.position)]

    assert names() == ["Отложенный спрос", "Звонок через месяц", "Повторный контакт"]
    new = db_session.scalar(select(Stage).where(Stage.name == "Звонок через месяц"))
    assert client.submit(f"/admin/pipelines/stages/{new.id}/move/up").status_code == 302
    assert names() == ["Звонок через месяц", "Отложенный спрос", "Повторный контакт"]
    client.submit(f"/admin/pipelines/stages/{new.id}/move/down")
    client.submit(f"/admin/pipelines/stages/{new.id}/move/down")
    assert names() == ["Отложенный спрос", "Повторный контакт", "Звонок через месяц"]
    page = client.get("/admin/pipelines/").get_data(as_text=True)
    assert "Звонок через месяц" in page


def test_pipeline_rules_protect_what_deals_use(db_session, make_user, world):
    admin = make_user("admin", username="pipe_admin2")
    sales = services.pipeline_by_code(db_session, "sales")
    with pytest.raises(Conflict, match="Воронку продаж отключить нельзя"):
        pipelines.set_pipeline_active(db_session, sales, False, actor=admin)
    first = services.first_stage(sales)  # the world's deal sits here
    with pytest.raises(Conflict, match="перенесите их"):
        pipelines.set_stage_active(db_session, first, False, actor=admin)
    with pytest.raises(ValidationError) as err:
        pipelines.update_stage(
            db_session,
            first,
            pipelines.StageData(name=first.name, percent=0, is_sale=True),
            actor=admin,
        )
    assert "признак продажи" in err.value.fields["is_sale"]
    with pytest.raises(ValidationError) as err:
        pipelines.add_stage(
            db_session,
            sales,
            pipelines.StageData(name="Ещё договор", percent=65, trigger="contract_signed"),
            actor=admin,
        )
    assert "уже переводит" in err.value.fields["trigger"]
    with pytest.raises(PermissionDenied, match="Воронки настраивает администратор"):
        pipelines.add_lost_reason(db_session, "Нет стенда", actor=world["manager"])
    reason = pipelines.add_lost_reason(db_session, "Нет подходящего стенда", actor=admin)
    pipelines.set_lost_reason_active(db_session, reason, False, actor=admin)
    assert reason not in pipelines.lost_reasons(db_session, active_only=True)


# --- demo data ----------------------------------------------------------------------------------


def test_demo_deals_fill_every_stage_and_render(client, db_session, make_user):
    users = {
        name: make_user(role, username=name)
        for name, role in [
            ("analyst", "analyst"),
            ("manager1", "sales_manager"),
            ("manager2", "sales_manager"),
            ("manager3", "sales_manager"),
        ]
    }
    load_demo_clients(db_session, users, count=40)
    projects = [make_project(db_session), make_project(db_session, code="AGRO", name="Агро-2027")]
    assert load_demo_deals(db_session, users, projects, count=45) == 45
    db_session.commit()
    deals = db_session.scalars(select(Deal)).all()
    reached = {d.stage_id for d in deals}
    for code in ("sales", "deferred", "instalments"):
        stages = services.pipeline_by_code(db_session, code).stages
        assert {s.id for s in stages} <= reached, code
    ahead = next_steps.next_contacts(db_session, [d.id for d in deals])
    assert all(d.id in ahead for d in deals if d.pipeline.code == "deferred")
    lost = [d for d in deals if d.outcome == "lost"]
    assert lost and all(d.lost_reason_id for d in lost)
    assert all(d.area_m2 > 0 for d in deals if d.outcome == "won")
    assert any(d.discount_kind for d in deals)
    assert {d.manager.username for d in deals} == {"manager1", "manager2", "manager3"}
    client.login("manager1")
    assert client.get("/deals/").status_code == 200
    for deal in deals[:: len(deals) // 6]:
        assert client.get(f"/deals/{deal.id}").status_code == 200
