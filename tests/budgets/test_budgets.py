"""Project budgets: articles, versions and their grid, approval sent to accounting through the
outbox, actuals from accounting, plan vs actual with the income cross-check, pages and access."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp_crm.audit.models import AuditEntry
from erp_crm.budgets import articles as catalog
from erp_crm.budgets import report as reports
from erp_crm.budgets import services
from erp_crm.budgets.demo import seed_demo_budgets
from erp_crm.budgets.models import BudgetActual, BudgetArticle, BudgetLine, BudgetVersion
from erp_crm.core.guids import guid_for
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from erp_crm.integration.models import OutboxMessage
from erp_crm.projects import plans
from erp_crm.projects.demo import PROJECTS
from tests.fixtures.projects import make_client, make_deal, make_project

JAN, FEB, MAR = dt.date(2027, 1, 1), dt.date(2027, 2, 1), dt.date(2027, 3, 1)
SEEDED = {
    "income": [
        "Продажа выставочной площади",
        "Регистрационные сборы",
        "Дополнительные услуги",
        "Спонсорство",
    ],
    "expense": [
        "Аренда площадки",
        "Застройка",
        "Реклама",
        "Полиграфия",
        "Деловая программа",
        "Командировки",
        "Прочие расходы",
    ],
}


@pytest.fixture
def pm(make_user):
    return make_user("project_manager", username="pmgr", full_name="Лебедев Павел")


@pytest.fixture
def project(db_session, pm):
    # VSE-2027: the show runs 16–18 March 2027, so the grid spans June 2026 … April 2027.
    return make_project(db_session, pm, priced=False)


@pytest.fixture
def art(db_session):
    """The seeded articles by code."""
    return {a.code: a for a in db_session.scalars(select(BudgetArticle))}


def cell(article, month, amount):
    return services.BudgetCell(article.id, month, amount)


def approved_budget(session, project, pm, cells):
    version = services.create_version(session, project, actor=pm)
    services.save_lines(session, version, cells, actor=pm)
    return services.approve_version(session, version, actor=pm)


# --- articles -----------------------------------------------------------------------------------


def test_the_migration_seeds_the_articles_of_income_and_expense(db_session):
    articles = catalog.list_articles(db_session)
    assert {d: [a.name for a in articles if a.direction == d] for d in SEEDED} == SEEDED
    assert all(a.is_active and a.code for a in articles)


def test_articles_are_added_renamed_and_deactivated_but_a_used_one_is_never_deleted(
    db_session, project, pm, art
):
    article = catalog.create_article(
        db_session,
        catalog.ArticleData(code="exp-guard", name="Охрана", direction="expense"),
        actor=pm,
    )
    assert article.code == "EXP-GUARD" and article.position > art["EXP-OTHER"].position
    with pytest.raises(ValidationError) as err:
        catalog.create_article(
            db_session,
            catalog.ArticleData(code="EXP-GUARD", name="аренда площадки", direction="x"),
            actor=pm,
        )
    assert set(err.value.fields) == {"code", "direction"}
    with pytest.raises(ValidationError) as err:
        catalog.create_article(
            db_session,
            catalog.ArticleData(code="E 1", name="Аренда площадки", direction="expense"),
            actor=pm,
        )
    assert "без пробелов" in err.value.fields["code"]
    assert err.value.fields["name"] == "Статья с таким названием уже есть."

    catalog.update_article(
        db_session,
        article,
        catalog.ArticleData(code="EXP-SECURITY", name="Охрана и безопасность", direction="expense"),
        actor=pm,
    )
    assert (article.code, article.name) == ("EXP-SECURITY", "Охрана и безопасность")
    catalog.delete_article(db_session, article, actor=pm)  # never used: it may go
    assert db_session.get(BudgetArticle, article.id) is None

    # Used in a budget: renamed yes; code, direction and deletion no; deactivation yes.
    version = services.create_version(db_session, project, actor=pm)
    services.save_lines(db_session, version, [cell(art["EXP-ADV"], JAN, "100")], actor=pm)
    catalog.update_article(
        db_session,
        art["EXP-ADV"],
        catalog.ArticleData(code="EXP-ADV", name="Реклама и PR", direction="expense"),
        actor=pm,
    )
    with pytest.raises(ValidationError) as err:
        catalog.update_article(
            db_session,
            art["EXP-ADV"],
            catalog.ArticleData(code="EXP-PR", name="Реклама и PR", direction="income"),
            actor=pm,
        )
    assert set(err.value.fields) == {"code", "direction"}
    with pytest.raises(Conflict):
        catalog.delete_article(db_session, art["EXP-ADV"], actor=pm)
    catalog.set_article_active(db_session, art["EXP-ADV"], False, actor=pm)
    assert not art["EXP-ADV"].is_active
    assert (
        db_session.scalar(
            select(func.count()).where(
                AuditEntry.entity_type == "budget_articles",
                AuditEntry.entity_id == art["EXP-ADV"].id,
            )
        )
        == 2
    )  # renamed, deactivated


def test_only_budget_keepers_change_articles_and_budgets(db_session, project, make_user, art):
    head = make_user("head_of_sales", username="head")
    with pytest.raises(PermissionDenied):
        catalog.create_article(
            db_session, catalog.ArticleData(code="X", name="X", direction="income"), actor=head
        )
    with pytest.raises(PermissionDenied):
        services.create_version(db_session, project, actor=head)


# --- the grid -----------------------------------------------------------------------------------


def test_the_grid_stores_updates_and_deletes_cells_and_logs_them(db_session, project, pm, art):
    version = services.create_version(db_session, project, actor=pm)
    changed = services.save_lines(
        db_session,
        version,
        [
            cell(art["INC-SPACE"], JAN, "1 250 000,50"),
            cell(art["EXP-VENUE"], MAR, "300000"),
            cell(art["EXP-ADV"], FEB, ""),
        ],
        actor=pm,
    )
    assert changed == 2
    assert services.version_amounts(db_session, version) == {
        (art["INC-SPACE"].id, JAN): Decimal("1250000.50"),
        (art["EXP-VENUE"].id, MAR): Decimal("300000.00"),
    }
    changed = services.save_lines(
        db_session,
        version,
        [cell(art["INC-SPACE"], JAN, "1250000.5"), cell(art["EXP-VENUE"], MAR, "0")],
        actor=pm,
    )
    assert changed == 1
    assert services.version_amounts(db_session, version) == {
        (art["INC-SPACE"].id, JAN): Decimal("1250000.50")
    }
    entry = db_session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "budget_versions", AuditEntry.action == "budget_lines")
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry.changes == {"Аренда площадки · 2027-03": ["300000.00", "0.00"]}


def test_a_grid_with_a_bad_cell_names_the_cell_and_saves_nothing(db_session, project, pm, art):
    version = services.create_version(db_session, project, actor=pm)
    with pytest.raises(ValidationError) as err:
        services.save_lines(
            db_session,
            version,
            [
                cell(art["INC-SPACE"], JAN, "1000"),
                cell(art["INC-REG"], JAN, "-5"),
                cell(art["EXP-VENUE"], FEB, "10,555"),
                cell(art["EXP-ADV"], MAR, "десять"),
            ],
            actor=pm,
        )
    assert err.value.fields == {
        services.cell_field(art["INC-REG"].id, JAN): "Значение не может быть отрицательным.",
        services.cell_field(art["EXP-VENUE"].id, FEB): "Не больше 2 знаков после запятой.",
        services.cell_field(art["EXP-ADV"].id, MAR): "Нужно число, например 1 250,50.",
    }
    assert "(3)" in err.value.message
    assert db_session.scalar(select(func.count()).select_from(BudgetLine)) == 0


def test_a_bad_cell_on_the_page_is_shown_in_place_and_nothing_is_saved(
    client, db_session, project, pm, art
):
    version = services.create_version(db_session, project, actor=pm)
    db_session.commit()
    client.login("pmgr")
    page = client.get(f"/budgets/versions/{version.id}/edit")
    assert page.status_code == 200
    # «с <genitive> по <accusative>»: «по апрель», never «по апреля»
    assert re.search(r"— с [а-я]+[яа] \d{4} по [а-я]+[ьйт] \d{4}", page.get_data(as_text=True))
    empty = client.get("/budgets/").get_data(as_text=True)
    assert '<span class="text-muted">0,00</span>' in empty and '"text-muted">0<' not in empty
    good = services.cell_field(art["INC-SPACE"].id, JAN)
    bad = services.cell_field(art["EXP-PRINT"].id, FEB)
    assert f'name="{good}"' in page.get_data(as_text=True)
    response = client.submit(f"/budgets/versions/{version.id}/edit", {good: "500000", bad: "-1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Значение не может быть отрицательным." in html
    assert 'value="-1"' in html and 'value="500000"' in html  # what was typed stays
    assert db_session.scalar(select(func.count()).select_from(BudgetLine)) == 0
    response = client.submit(f"/budgets/versions/{version.id}/edit", {good: "500 000"})
    assert response.status_code == 302
    assert services.version_amounts(db_session, version) == {
        (art["INC-SPACE"].id, JAN): Decimal("500000.00")
    }


def test_a_deactivated_article_takes_no_new_amounts(db_session, project, pm, art):
    catalog.set_article_active(db_session, art["INC-SPONSOR"], False, actor=pm)
    version = services.create_version(db_session, project, actor=pm)
    with pytest.raises(ValidationError) as err:
        services.save_lines(db_session, version, [cell(art["INC-SPONSOR"], JAN, "1")], actor=pm)
    assert "отключена" in err.value.fields[services.cell_field(art["INC-SPONSOR"].id, JAN)]
    services.save_lines(db_session, version, [cell(art["INC-SPONSOR"], JAN, "")], actor=pm)


# --- versions -----------------------------------------------------------------------------------


def test_a_new_version_is_a_copy_of_the_latest_one(db_session, project, pm, art):
    first = approved_budget(
        db_session,
        project,
        pm,
        [cell(art["INC-SPACE"], JAN, "1000"), cell(art["EXP-VENUE"], MAR, "400.40")],
    )
    second = services.create_version(db_session, project, actor=pm, comment="  Пересмотр ")
    assert (second.number, second.status, second.based_on_id) == (2, "draft", first.id)
    assert second.comment == "Пересмотр" and second.guid != first.guid
    assert services.version_amounts(db_session, second) == services.version_amounts(
        db_session, first
    )
    with pytest.raises(Conflict):  # one draft at a time
        services.create_version(db_session, project, actor=pm)
    services.save_lines(db_session, second, [cell(art["INC-SPACE"], JAN, "2000")], actor=pm)
    assert services.version_amounts(db_session, first)[(art["INC-SPACE"].id, JAN)] == Decimal(
        "1000.00"
    )
    services.delete_draft(db_session, second, actor=pm)
    blank = services.create_version(db_session, project, actor=pm, copy_latest=False)
    assert blank.number == 2 and services.version_amounts(db_session, blank) == {}


def test_approving_supersedes_the_previous_version_and_queues_exactly_one_message(
    db_session, project, pm, art
):
    first = approved_budget(db_session, project, pm, [cell(art["INC-SPACE"], JAN, "1")])
    second = services.create_version(db_session, project, actor=pm, copy_latest=False)
    services.save_lines(
        db_session,
        second,
        [
            cell(art["EXP-VENUE"], MAR, "300000"),
            cell(art["INC-SPACE"], FEB, "1234.5"),
            cell(art["INC-SPACE"], JAN, "99.99"),
            cell(art["INC-REG"], JAN, "0"),
        ],
        actor=pm,
    )
    before = db_session.scalar(select(func.count()).select_from(OutboxMessage))
    services.approve_version(db_session, second, actor=pm)

    assert (first.status, second.status) == ("superseded", "approved")
    assert first.superseded_at is not None and second.approved_at is not None
    assert second.approved_by_id == pm.id
    assert services.approved_version(db_session, project) is second
    messages = db_session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == "budget", OutboxMessage.object_id == second.id
        )
    ).all()
    assert db_session.scalar(select(func.count()).select_from(OutboxMessage)) == before + 1
    assert len(messages) == 1
    message = messages[0]
    assert (message.object_guid, message.status) == (second.guid, "pending")
    assert message.label == "Бюджет проекта ВолгаСтройЭкспо-2027, версия 2"
    assert message.payload == {
        "guid": second.guid,
        "project_guid": guid_for("projects", project.id),
        "project_code": "VSE-2027",
        "project_name": "ВолгаСтройЭкспо-2027",
        "version": 2,
        "status": "approved",
        "lines": [
            {
                "article_code": "INC-SPACE",
                "article_name": "Продажа выставочной площади",
                "direction": "income",
                "month": "2027-01-01",
                "amount": "99.99",
            },
            {
                "article_code": "INC-SPACE",
                "article_name": "Продажа выставочной площади",
                "direction": "income",
                "month": "2027-02-01",
                "amount": "1234.50",
            },
            {
                "article_code": "EXP-VENUE",
                "article_name": "Аренда площадки",
                "direction": "expense",
                "month": "2027-03-01",
                "amount": "300000.00",
            },
        ],
    }
    # The superseded version stays readable.
    assert services.version_amounts(db_session, first) == {
        (art["INC-SPACE"].id, JAN): Decimal("1.00")
    }


def test_an_empty_draft_is_not_approved(db_session, project, pm):
    version = services.create_version(db_session, project, actor=pm)
    with pytest.raises(ValidationError):
        services.approve_version(db_session, version, actor=pm)
    assert version.status == "draft"


def test_a_version_that_is_not_a_draft_is_never_changed(client, db_session, project, pm, art):
    first = approved_budget(db_session, project, pm, [cell(art["INC-SPACE"], JAN, "1000")])
    with pytest.raises(Conflict, match="утверждена"):
        services.save_lines(db_session, first, [cell(art["INC-SPACE"], JAN, "5")], actor=pm)
    with pytest.raises(Conflict):
        services.approve_version(db_session, first, actor=pm)
    with pytest.raises(Conflict):
        services.delete_draft(db_session, first, actor=pm)
    second = approved_budget(db_session, project, pm, [cell(art["INC-SPACE"], JAN, "2000")])
    with pytest.raises(Conflict, match="заменена"):
        services.save_lines(db_session, first, [cell(art["INC-SPACE"], JAN, "5")], actor=pm)
    db_session.commit()

    client.login("pmgr")
    field = services.cell_field(art["INC-SPACE"].id, JAN)
    response = client.submit(f"/budgets/versions/{second.id}/edit", {field: "7"})
    assert response.status_code == 409
    assert "не меняется" in response.get_data(as_text=True)
    assert client.get(f"/budgets/versions/{second.id}/edit").status_code == 302
    assert services.version_amounts(db_session, second) == {
        (art["INC-SPACE"].id, JAN): Decimal("2000.00")
    }


# --- actuals from accounting --------------------------------------------------------------------


def test_apply_actual_is_an_idempotent_upsert(db_session, project, art):
    guid = guid_for("projects", project.id)

    def apply(amount, month=dt.date(2027, 1, 17)):
        return services.apply_actual(
            db_session,
            project_guid=guid,
            article_code="EXP-VENUE",
            direction="expense",
            month=month,
            amount=Decimal(amount),
        )

    def rows():
        return db_session.execute(
            select(
                BudgetActual.project_id,
                BudgetActual.article_id,
                BudgetActual.month,
                BudgetActual.amount,
            )
        ).all()

    assert apply("150000.5") is True
    assert apply("150000.50") is True
    assert rows() == [(project.id, art["EXP-VENUE"].id, JAN, Decimal("150000.50"))]
    assert apply("175000") is True  # a new cumulative value replaces the old one
    assert rows() == [(project.id, art["EXP-VENUE"].id, JAN, Decimal("175000.00"))]
    assert apply("1", month=FEB) is True
    assert len(rows()) == 2
    assert services.actual_amounts(db_session, project)[(art["EXP-VENUE"].id, JAN)] == Decimal(
        "175000.00"
    )


def test_apply_actual_ignores_an_unknown_project_or_article(db_session, project):
    guid = guid_for("projects", project.id)
    common = {"month": JAN, "amount": Decimal("10")}
    assert not services.apply_actual(
        db_session,
        project_guid=guid_for("projects", project.id + 1000),
        article_code="EXP-VENUE",
        direction="expense",
        **common,
    )
    assert not services.apply_actual(
        db_session, project_guid=guid, article_code="NOPE", direction="expense", **common
    )
    assert not services.apply_actual(  # the code is known, but as an expense
        db_session, project_guid=guid, article_code="EXP-VENUE", direction="income", **common
    )
    assert db_session.scalar(select(func.count()).select_from(BudgetActual)) == 0


# --- plan vs actual -----------------------------------------------------------------------------


def test_plan_vs_actual_figures_to_the_kopeck(db_session, project, pm, art):
    old = approved_budget(db_session, project, pm, [cell(art["INC-SPACE"], JAN, "1")])
    version = services.create_version(db_session, project, actor=pm, copy_latest=False)
    services.save_lines(
        db_session,
        version,
        [
            cell(art["INC-SPACE"], JAN, "1000000.00"),
            cell(art["INC-SPACE"], FEB, "2000000.00"),
            cell(art["INC-REG"], JAN, "45000.00"),
            cell(art["EXP-VENUE"], JAN, "300000.00"),
            cell(art["EXP-ADV"], JAN, "50000.00"),
            cell(art["EXP-ADV"], FEB, "50000.00"),
        ],
        actor=pm,
    )
    services.approve_version(db_session, version, actor=pm)
    guid = guid_for("projects", project.id)
    for code, direction, month, amount in [
        ("INC-SPACE", "income", JAN, "950000.10"),
        ("INC-REG", "income", JAN, "45000.00"),
        ("EXP-VENUE", "expense", JAN, "310000.33"),
        ("EXP-ADV", "expense", JAN, "40000.00"),
        ("EXP-OTHER", "expense", FEB, "1234.56"),  # not planned at all
    ]:
        assert services.apply_actual(
            db_session,
            project_guid=guid,
            article_code=code,
            direction=direction,
            month=month,
            amount=Decimal(amount),
        )

    report = reports.build_report(db_session, project, as_of=dt.date(2027, 2, 10))
    assert report.version is version and report.current_month == FEB
    assert report.months[0] == dt.date(2026, 6, 1) and report.months[-1] == dt.date(2027, 4, 1)
    rows = {r.article.code: r for s in report.sections for r in s.rows}
    space = rows["INC-SPACE"]
    assert (space.cell(JAN).plan, space.cell(JAN).actual) == (
        Decimal("1000000.00"),
        Decimal("950000.10"),
    )
    assert space.cell(JAN).deviation == Decimal("-49999.90")
    assert space.cell(JAN).deviation_percent == Decimal("-5.0")
    assert (space.total.plan, space.total.actual, space.total.deviation) == (
        Decimal("3000000.00"),
        Decimal("950000.10"),
        Decimal("-2049999.90"),
    )
    assert space.total.deviation_percent == Decimal("-68.3")
    venue = rows["EXP-VENUE"]
    assert venue.cell(JAN).deviation == Decimal("10000.33")
    assert venue.cell(JAN).deviation_percent == Decimal("3.3")
    assert venue.overspent(venue.cell(JAN))
    assert not rows["EXP-ADV"].overspent(rows["EXP-ADV"].cell(JAN))
    assert not space.overspent(space.cell(JAN))  # income below plan is not an overspending
    other = rows["EXP-OTHER"].cell(FEB)
    assert (other.plan, other.actual, other.deviation_percent) == (
        Decimal("0.00"),
        Decimal("1234.56"),
        None,
    )
    assert rows["EXP-OTHER"].overspent(other)

    assert (report.income.month(JAN).plan, report.income.month(JAN).actual) == (
        Decimal("1045000.00"),
        Decimal("995000.10"),
    )
    assert (report.expense.month(JAN).plan, report.expense.month(JAN).actual) == (
        Decimal("350000.00"),
        Decimal("350000.33"),
    )
    assert (report.income.total.plan, report.income.total.actual) == (
        Decimal("3045000.00"),
        Decimal("995000.10"),
    )
    assert (report.expense.total.plan, report.expense.total.actual) == (
        Decimal("400000.00"),
        Decimal("351234.89"),
    )
    assert report.result_month(JAN).plan == Decimal("695000.00")
    assert report.result_month(JAN).actual == Decimal("644999.77")
    assert (report.result.plan, report.result.actual, report.result.deviation) == (
        Decimal("2645000.00"),
        Decimal("643765.21"),
        Decimal("-2001234.79"),
    )
    # "To date": the months before February, where accounting has closed the actual.
    assert (space.to_date.plan, space.to_date.actual) == (
        Decimal("1000000.00"),
        Decimal("950000.10"),
    )
    assert (report.expense.to_date.plan, report.expense.to_date.actual) == (
        Decimal("350000.00"),
        Decimal("350000.33"),
    )
    assert (report.result_to_date.plan, report.result_to_date.actual) == (
        Decimal("695000.00"),
        Decimal("644999.77"),
    )
    # Any version can be compared with the actual.
    older = reports.build_report(db_session, project, old)
    assert older.income.total.plan == Decimal("1.00")
    assert older.income.total.actual == Decimal("995000.10")


def test_the_income_cross_check_puts_won_deals_and_the_sales_plan_next_to_the_budget(
    db_session, project, pm, art, make_user
):
    seller = make_user("sales_manager", username="maria")
    client = make_client(db_session, make_user("admin", username="boss"))
    approved_budget(
        db_session,
        project,
        pm,
        [
            cell(art["INC-SPACE"], JAN, "500000.00"),
            cell(art["INC-REG"], JAN, "15000.00"),
            cell(art["EXP-VENUE"], JAN, "99999.99"),  # expenses are not income
        ],
    )
    plans.save_plan(db_session, project, [plans.PlanCell(None, JAN, "50", "480000")], actor=pm)
    # 31 January 22:30 UTC is already February in Moscow: not a January sale.
    for amount, closed in [
        ("312500.25", dt.datetime(2027, 1, 10, 9, tzinfo=dt.UTC)),
        ("100000.00", dt.datetime(2027, 1, 31, 22, 30, tzinfo=dt.UTC)),
    ]:
        make_deal(
            db_session,
            project,
            seller,
            client,
            outcome="won",
            amount=Decimal(amount),
            closed_at=closed,
        )
    make_deal(db_session, project, seller, client, amount=Decimal("777.00"))  # still open

    report = reports.build_report(db_session, project)
    cross = {r.month: r for r in report.cross}
    jan = cross[JAN]
    assert (jan.budget_plan, jan.sales_plan, jan.won, jan.deals) == (
        Decimal("515000.00"),
        Decimal("480000.00"),
        Decimal("312500.25"),
        1,
    )
    assert jan.diff_sales_plan == Decimal("35000.00")
    assert jan.diff_won == Decimal("202499.75")
    assert (cross[FEB].won, cross[FEB].diff_won) == (Decimal("100000.00"), Decimal("-100000.00"))
    total = report.cross_total
    assert (total.budget_plan, total.sales_plan, total.won, total.diff_won) == (
        Decimal("515000.00"),
        Decimal("480000.00"),
        Decimal("412500.25"),
        Decimal("102499.75"),
    )


# --- pages --------------------------------------------------------------------------------------


def test_the_pages_show_the_budget_and_the_xlsx_has_the_figures(
    client, db_session, project, pm, art, make_user
):
    approved_budget(db_session, project, pm, [cell(art["EXP-VENUE"], JAN, "300000")])
    services.apply_actual(
        db_session,
        project_guid=guid_for("projects", project.id),
        article_code="EXP-VENUE",
        direction="expense",
        month=JAN,
        amount=Decimal("330000"),
    )
    make_user("accountant", username="acc")
    db_session.commit()
    client.login("acc")
    assert "ВолгаСтройЭкспо-2027" in client.get("/budgets/").get_data(as_text=True)
    assert "Застройка" in client.get("/budgets/articles").get_data(as_text=True)
    page = client.get(f"/budgets/projects/{project.id}/report").get_data(as_text=True)
    assert "Перерасход" in page and "+30\u00a0000,00" in page and "+10,0%" in page
    assert "Сверка доходов" in page
    assert client.get(f"/budgets/projects/{project.id}").status_code == 200

    response = client.get(f"/budgets/projects/{project.id}/report.xlsx")
    assert response.status_code == 200
    assert "budget-VSE-2027.xlsx" in response.headers["Content-Disposition"]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["План-факт", "Сверка доходов"]
    sheet = book["План-факт"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    venue = next(i for i, row in enumerate(values) if row[0] == "Аренда площадки")
    header = next(row for row in values if row[0] == "Статья")
    jan_col = header.index("01.2027")
    assert values[venue][jan_col] == 300000 and values[venue + 1][jan_col] == 330000
    assert values[venue + 2][jan_col] == 30000 and values[venue + 3][jan_col] == 10


def test_a_sales_manager_cannot_edit_a_budget_and_the_project_manager_can(
    client, db_session, project, pm, make_user, art
):
    version = services.create_version(db_session, project, actor=pm)
    make_user("sales_manager", username="seller")
    db_session.commit()
    field = services.cell_field(art["INC-SPACE"].id, JAN)

    client.login("seller")
    assert client.get(f"/budgets/versions/{version.id}/edit").status_code == 403
    assert client.submit(f"/budgets/versions/{version.id}/edit", {field: "1"}).status_code == 403
    assert client.submit(f"/budgets/versions/{version.id}/approve").status_code == 403
    assert client.get(f"/budgets/projects/{project.id}/report").status_code == 403
    assert services.version_amounts(db_session, version) == {}
    client.post("/logout", data={"csrf_token": client.csrf_token("/")})

    client.login("pmgr")
    assert client.submit(f"/budgets/versions/{version.id}/edit", {field: "1"}).status_code == 302
    assert client.submit(f"/budgets/versions/{version.id}/approve").status_code == 302
    db_session.refresh(version)
    assert version.status == "approved"
    response = client.submit(f"/budgets/projects/{project.id}/versions", {"copy_latest": "y"})
    assert response.status_code == 302
    newest = services.draft_version(db_session, project)
    assert newest.number == 2 and services.version_amounts(db_session, newest) == {
        (art["INC-SPACE"].id, JAN): Decimal("1.00")
    }
    page = client.get(f"/budgets/versions/{version.id}").get_data(as_text=True)
    assert "принят бухгалтерией" in page or "ждёт отправки" in page


def test_demo_budgets_give_each_demo_project_an_approved_budget_and_past_actuals(
    db_session, make_user
):
    admin = make_user("admin", username="demoadmin")
    spec = PROJECTS[0]
    project = make_project(
        db_session,
        admin,
        priced=False,
        name=spec.name,
        code=spec.code,
        opening_date=spec.opening,
        closing_date=spec.opening + dt.timedelta(days=spec.days - 1),
    )
    assert seed_demo_budgets(db_session, admin, today=dt.date(2026, 11, 23)) == 1
    versions = services.list_versions(db_session, project)
    assert [(v.number, v.status) for v in versions] == [(2, "approved"), (1, "superseded")]
    report = reports.build_report(db_session, project)
    assert report.income.total.plan > report.expense.total.plan > 0
    months = {m for (_, m) in services.actual_amounts(db_session, project)}
    assert months and max(months) < dt.date(2026, 11, 1)
    assert seed_demo_budgets(db_session, admin, today=dt.date(2026, 11, 23)) == 0  # once
    assert db_session.scalar(select(func.count()).select_from(BudgetVersion)) == 2
