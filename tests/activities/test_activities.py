"""Planned contacts and their formalized results: each result's consequence, the postponement
counter, bulk planning, forwarded requests, the 24-hour rule, merges (both backends)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from erp_crm.activities import bulk, results, services, tasks
from erp_crm.activities.models import (
    Activity,
    ActivityReason,
    Rating,
    ReasonKind,
    Status,
    Task,
)
from erp_crm.clients import dedupe
from erp_crm.clients import services as client_services
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import Deal, LostReason, Outcome, Stage
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from tests.fixtures.activities import NOW, planned
from tests.fixtures.deals import make_client


def reason(db_session, kind: ReasonKind) -> ActivityReason:
    return db_session.scalar(select(ActivityReason).where(ActivityReason.kind == kind.value))


def lost_reason(db_session) -> LostReason:
    return db_session.scalar(select(LostReason).order_by(LostReason.id))


def done(db_session, world, activity, actor=None, **result):
    return results.complete(
        db_session,
        activity,
        results.ResultData.from_mapping(result),
        actor=actor or world["manager"],
        now=NOW + dt.timedelta(days=1, hours=2),
    )


# --- planning -----------------------------------------------------------------------------------


def test_a_contact_is_planned_in_the_responsible_users_zone(db_session, world):
    activity = planned(db_session, world)
    assert activity.starts_at == dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC)
    assert activity.reminders == [60, 15]
    assert activity.duration_minutes == world["call"].default_minutes
    assert activity.responsible_id == world["manager"].id
    world["other"].time_zone = "Europe/Samara"
    samara = planned(db_session, world, actor=world["head"], responsible_id=world["other"].id)
    assert samara.starts_at == dt.datetime(2026, 12, 8, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"starts_at": "2026-12-01T10:00"}, "starts_at", "прошедшее время"),
        ({"reminders": "-10"}, "reminders", "до начала контакта"),
        ({"reminders": "часик"}, "reminders", "минуты до начала"),
        ({"goal": "  "}, "goal", "цель"),
        ({"type_id": 999_999}, "type_id", "тип контакта"),
        ({"starts_at": "завтра"}, "starts_at", "ГГГГ-ММ-ДД"),
    ],
)
def test_bad_plans_are_refused_with_a_russian_message(db_session, world, overrides, field, message):
    before = db_session.scalar(select(func.count(Activity.id)))
    with pytest.raises(ValidationError) as refused:
        planned(db_session, world, **overrides)
    assert message.lower() in refused.value.fields[field].lower()
    assert db_session.scalar(select(func.count(Activity.id))) == before


def test_a_contact_person_of_another_client_is_refused(db_session, world):
    stranger = make_client(db_session, world["head"], name="ООО «Вектор»", inn="7728168971")
    with pytest.raises(ValidationError) as refused:
        planned(db_session, world, client_id=stranger.id)
    assert "сотрудником этого клиента" in refused.value.fields["contact_id"]


def test_a_manager_plans_for_a_colleague_only_clients_they_curate(db_session, world):
    stranger = make_client(db_session, world["head"], name="ООО «Вектор»", inn="7728168971")
    with pytest.raises(PermissionDenied):
        planned(
            db_session,
            world,
            actor=world["other"],
            client_id=stranger.id,
            contact_id=None,
            responsible_id=world["manager"].id,
        )
    mine = planned(db_session, world, actor=world["other"], client_id=stranger.id, contact_id=None)
    assert mine.responsible_id == world["other"].id
    for_colleague = planned(db_session, world, responsible_id=world["other"].id)
    assert for_colleague.responsible_id == world["other"].id  # the curator plans for a colleague
    with pytest.raises(PermissionDenied):
        planned(db_session, world, actor=world["accountant"])


def test_only_the_responsible_curator_or_head_complete_a_contact(db_session, world):
    activity = planned(db_session, world)
    with pytest.raises(PermissionDenied):
        done(db_session, world, activity, actor=world["other"], kind="other", text="Поговорили")
    assert activity.status == Status.PLANNED.value
    done(db_session, world, activity, actor=world["head"], kind="other", text="Поговорили")
    assert activity.status == Status.DONE.value and activity.completed_by_id == world["head"].id


def test_completing_needs_a_result(db_session, world):
    activity = planned(db_session, world)
    with pytest.raises(ValidationError) as refused:
        done(db_session, world, activity, kind="")
    assert "результат" in refused.value.fields["kind"]
    with pytest.raises(ValidationError) as refused:
        done(db_session, world, activity, kind="other", text="")
    assert "Опишите" in refused.value.fields["text"]
    assert activity.status == Status.PLANNED.value and activity.result_kind is None


# --- results and their consequences -------------------------------------------------------------


def test_postponed_plans_the_next_contact_with_the_same_goal_and_counts(db_session, world):
    activity = planned(db_session, world)
    why = reason(db_session, ReasonKind.POSTPONE)
    for bad, field in (
        ({"postponed_to": "2026-12-10T10:00"}, "reason_id"),
        ({"reason_id": why.id}, "postponed_to"),
        ({"reason_id": why.id, "postponed_to": "2026-12-05T10:00"}, "postponed_to"),
    ):
        with pytest.raises(ValidationError) as refused:
            done(db_session, world, activity, kind="postponed", **bad)
        assert field in refused.value.fields
    assert activity.status == Status.PLANNED.value

    following = done(
        db_session,
        world,
        activity,
        kind="postponed",
        reason_id=why.id,
        postponed_to="2026-12-15T10:30",
        text="Просили перезвонить после совещания",
    )
    assert activity.status == Status.DONE.value and activity.reason_id == why.id
    assert following is not None and following.status == Status.PLANNED.value
    assert following.goal == activity.goal and following.contact_id == activity.contact_id
    assert following.starts_at == dt.datetime(2026, 12, 15, 7, 30, tzinfo=dt.UTC)
    assert following.previous_activity_id == activity.id == following.previous_activity_id
    assert activity.next_activity_id == following.id
    assert results.postponements(db_session, world["company"].id, world["project"].id) == 1

    done(
        db_session,
        world,
        following,
        kind="postponed",
        reason_id=why.id,
        postponed_to="2026-12-20T10:00",
    )
    assert results.postponements(db_session, world["company"].id, world["project"].id) == 2
    assert results.postponements(db_session, world["company"].id, None) == 0


def test_refused_participation_loses_the_projects_deal_with_the_reason(db_session, world):
    deal = deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=world["company"].id, project_id=world["project"].id),
        actor=world["manager"],
    )
    activity = planned(db_session, world)
    with pytest.raises(ValidationError) as refused:
        done(db_session, world, activity, kind="refused_participation")
    assert "lost_reason_id" in refused.value.fields
    why = lost_reason(db_session)
    done(db_session, world, activity, kind="refused_participation", lost_reason_id=why.id)
    assert deal.outcome == Outcome.LOST.value and deal.lost_reason_id == why.id
    assert activity.deal_id == deal.id and activity.lost_reason_id == why.id


def test_refused_participation_without_a_deal_records_a_lost_one(db_session, world):
    activity = planned(db_session, world)
    why = lost_reason(db_session)
    done(db_session, world, activity, kind="refused_participation", lost_reason_id=why.id)
    [deal] = db_session.scalars(select(Deal).where(Deal.client_id == world["company"].id)).all()
    assert deal.project_id == world["project"].id and deal.outcome == Outcome.LOST.value
    assert deal.lost_reason_id == why.id and deal.manager_id == world["manager"].id
    assert activity.deal_id == deal.id


def test_refused_participation_needs_a_project(db_session, world):
    activity = planned(db_session, world, project_id=None)
    with pytest.raises(ValidationError) as refused:
        done(
            db_session,
            world,
            activity,
            kind="refused_participation",
            lost_reason_id=lost_reason(db_session).id,
        )
    assert "проект" in refused.value.fields["project_id"]


def test_refused_visit_needs_a_reason_of_its_own_catalog(db_session, world):
    activity = planned(db_session, world)
    with pytest.raises(ValidationError):
        done(
            db_session,
            world,
            activity,
            kind="refused_visit",
            reason_id=reason(db_session, ReasonKind.POSTPONE).id,
        )
    why = reason(db_session, ReasonKind.REFUSE_VISIT)
    assert done(db_session, world, activity, kind="refused_visit", reason_id=why.id) is None
    assert activity.reason_id == why.id and activity.result_kind == "refused_visit"


def test_invitation_sent_keeps_the_visitors_and_plans_the_rules_follow_up(db_session, world):
    activity = planned(db_session, world)
    with pytest.raises(ValidationError) as refused:
        done(db_session, world, activity, kind="invitation_sent", visitors="")
    assert "приглашённых" in refused.value.fields["visitors"]
    following = done(
        db_session,
        world,
        activity,
        kind="invitation_sent",
        visitors="Сидоров Иван; директор; +7 846 200-00-00\nПетрова Ольга; маркетолог",
    )
    assert [(v.full_name, v.position, v.contact) for v in activity.visitors] == [
        ("Сидоров Иван", "директор", "+7 846 200-00-00"),
        ("Петрова Ольга", "маркетолог", None),
    ]
    # The seeded rule: a follow-up 7 days after the result (Tuesday the 8th, 14:00 in Moscow).
    assert following is not None and following.previous_activity_id == activity.id
    local = services.to_local(following.starts_at, world["manager"])
    assert (local.date(), local.hour) == (dt.date(2026, 12, 15), 14)
    assert "Отправка приглашения" in following.goal


def test_follow_ups_skip_weekends_and_russian_holidays():
    assert results.working_day_after(dt.date(2026, 12, 7), 5) == dt.date(2026, 12, 14)
    assert results.working_day_after(dt.date(2026, 12, 31), 1) == dt.date(2027, 1, 11)


def test_a_rule_can_move_the_deal_to_a_stage(db_session, world):
    deal = deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=world["company"].id, project_id=world["project"].id),
        actor=world["manager"],
    )
    later = next(s for s in deal.pipeline.stages if s.position > deal.stage.position)
    rule = results.rule_of(db_session, "manual_sent")
    rule.stage_id, rule.follow_up_days = later.id, None
    db_session.flush()
    activity = planned(db_session, world, deal_id=deal.id)
    assert done(db_session, world, activity, kind="manual_sent") is None
    assert deal.stage_id == later.id


def test_sale_links_the_deal(db_session, world):
    deal = deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=world["company"].id, project_id=world["project"].id),
        actor=world["manager"],
    )
    activity = planned(db_session, world)
    with pytest.raises(ValidationError) as refused:
        done(db_session, world, activity, kind="sale")
    assert "сделку" in refused.value.fields["deal_id"]
    care = done(db_session, world, activity, kind="sale", deal_id=deal.id)
    assert activity.deal_id == deal.id and activity.project_id == deal.project_id
    # The seeded rule: after a sale, a follow-up in 14 days (the client's care), on the deal too.
    assert care is not None and care.deal_id == deal.id
    assert {a.id for a in services.activities_of_deal(db_session, deal)} == {activity.id, care.id}


def test_a_rating_is_kept_with_the_contact(db_session, world):
    activity = planned(db_session, world)
    with pytest.raises(ValidationError) as refused:
        done(
            db_session,
            world,
            activity,
            kind="other",
            text="Оценили",
            rating={"manager_score": 7, "project_score": 4, "company_score": 5},
        )
    assert "от 1 до 5" in refused.value.fields["manager_score"]
    done(
        db_session,
        world,
        activity,
        kind="other",
        text="Оценили",
        rating={"manager_score": 5, "project_score": 4, "company_score": 3, "comment": "Ок"},
    )
    [rating] = db_session.scalars(select(Rating)).all()
    assert (rating.manager_score, rating.project_score, rating.company_score) == (5, 4, 3)
    assert rating.activity_id == activity.id and rating.manager_id == world["manager"].id


def test_a_result_changes_for_a_day_then_only_by_the_head(db_session, world):
    activity = planned(db_session, world)
    done(db_session, world, activity, kind="other", text="Созвонились")
    soon = activity.completed_at + dt.timedelta(hours=3)
    results.edit_result(
        db_session, activity, "Созвонились, ждут КП", actor=world["manager"], now=soon
    )
    assert activity.result_text == "Созвонились, ждут КП"
    late = activity.completed_at + dt.timedelta(hours=25)
    with pytest.raises(PermissionDenied):
        results.edit_result(db_session, activity, "Переписал", actor=world["manager"], now=late)
    results.edit_result(db_session, activity, "Уточнено РОП", actor=world["head"], now=late)
    assert activity.result_text == "Уточнено РОП"


def test_a_done_contact_is_not_completed_or_moved_again(db_session, world):
    activity = planned(db_session, world)
    done(db_session, world, activity, kind="other", text="Созвонились")
    with pytest.raises(Conflict):
        done(db_session, world, activity, kind="other", text="Ещё раз")
    with pytest.raises(Conflict):
        services.move(
            db_session, activity, dt.datetime(2026, 12, 20, 10), actor=world["manager"], now=NOW
        )


def test_moving_in_the_calendar_keeps_the_plan_and_refuses_the_past(db_session, world):
    activity = planned(db_session, world)
    services.move(
        db_session,
        activity,
        dt.datetime(2026, 12, 9, 15, 0),
        actor=world["manager"],
        duration_minutes=45,
        now=NOW,
    )
    assert activity.starts_at == dt.datetime(2026, 12, 9, 12, 0, tzinfo=dt.UTC)
    assert activity.duration_minutes == 45
    with pytest.raises(ValidationError):
        services.move(
            db_session, activity, dt.datetime(2026, 12, 1, 10), actor=world["manager"], now=NOW
        )


# --- my day, bulk -------------------------------------------------------------------------------


def test_my_day_splits_overdue_today_and_tomorrow(db_session, world):
    early = planned(db_session, world, starts_at="2026-12-07T11:58")  # 08:58 UTC, "now" 09:00
    today = planned(db_session, world, starts_at="2026-12-07T16:00")
    tomorrow = planned(db_session, world, starts_at="2026-12-08T10:00")
    planned(db_session, world, starts_at="2026-12-10T10:00")
    day = services.day_of(db_session, world["manager"], now=NOW)
    assert [a.id for a in day.overdue] == [early.id]
    assert [a.id for a in day.today] == [today.id]
    assert [a.id for a in day.tomorrow] == [tomorrow.id]
    assert early.is_overdue(NOW) and not today.is_overdue(NOW)


def test_the_department_day_counts_each_sellers_contacts(db_session, world):
    planned(db_session, world, starts_at="2026-12-07T11:58")  # overdue at NOW
    planned(db_session, world, starts_at="2026-12-07T16:00")  # still today
    done = planned(db_session, world, starts_at="2026-12-07T14:00")
    planned(db_session, world, starts_at="2026-12-09T10:00")  # later: not counted
    planned(db_session, world, starts_at="2026-12-07T17:00", responsible_id=world["other"].id)
    results.complete(
        db_session,
        done,
        results.ResultData(kind="other", text="Договорились"),
        actor=world["manager"],
        now=NOW,
    )
    rows = services.department_day(db_session, [world["manager"], world["other"]], now=NOW)
    got = {r.user.full_name: (r.overdue, r.today, r.done_today) for r in rows}
    assert got == {"Анна Петрова": (1, 1, 1), "Борис Иванов": (0, 1, 0)}


def test_bulk_planning_spreads_calls_over_curators_and_working_days(db_session, world):
    clients = [world["company"]]
    for n in range(1, 7):
        extra = client_services.create_client(
            db_session, client_services.ClientData(name=f"ООО «Клиент {n}»"), actor=world["head"]
        )
        extra.curator_id = (world["manager"] if n % 2 else world["other"]).id
        clients.append(extra)
    db_session.flush()
    result = bulk.bulk_plan(
        db_session,
        bulk.BulkPlan(
            client_ids=[c.id for c in clients],
            type_id=world["call"].id,
            goal="Пригласить на выставку",
            first_day=dt.date(2026, 12, 11),  # Friday: the next working day is Monday the 14th
            working_days=2,
            reminders=[15],
        ),
        actor=world["head"],
        now=NOW,
    )
    assert result.planned == 7 and result.skipped_merged == 0
    assert result.by_responsible == {world["manager"].id: 4, world["other"].id: 3}
    rows = db_session.scalars(select(Activity).where(Activity.goal == "Пригласить на выставку"))
    days = {services.to_local(a.starts_at, world["manager"]).date() for a in rows}
    assert days == {dt.date(2026, 12, 11), dt.date(2026, 12, 14)}
    with pytest.raises(PermissionDenied):
        bulk.bulk_plan(
            db_session,
            bulk.BulkPlan(
                client_ids=[c.id for c in clients],
                type_id=world["call"].id,
                goal="Чужие клиенты",
                first_day=dt.date(2026, 12, 11),
            ),
            actor=world["manager"],
            now=NOW,
        )
    assert db_session.scalar(select(func.count()).where(Activity.goal == "Чужие клиенты")) == 0


# --- forwarded requests -------------------------------------------------------------------------


def test_a_request_goes_to_a_colleague_and_comes_back_with_an_answer(db_session, world):
    data = tasks.TaskData.from_mapping(
        {
            "assignee_id": world["accountant"].id,
            "goal": "Пришлите акт сверки",
            "due_on": "2026-12-10",
            "client_id": world["company"].id,
        }
    )
    task = tasks.forward(db_session, data, actor=world["manager"], today=NOW.date())
    assert task.status == "new" and tasks.inbox(db_session, world["accountant"]) == [task]
    with pytest.raises(PermissionDenied):
        tasks.accept(db_session, task, actor=world["other"])
    tasks.accept(db_session, task, actor=world["accountant"])
    with pytest.raises(ValidationError):
        tasks.close(db_session, task, "  ", actor=world["accountant"], done=True)
    tasks.close(db_session, task, "Акт отправлен на почту", actor=world["accountant"], done=True)
    assert task.status == "done" and task.answer == "Акт отправлен на почту"
    assert tasks.unseen_answers(db_session, world["manager"]) == [task]
    tasks.mark_seen(db_session, task, actor=world["manager"])
    assert tasks.unseen_answers(db_session, world["manager"]) == []
    with pytest.raises(Conflict):
        tasks.close(db_session, task, "Ещё", actor=world["accountant"], done=False)


def test_a_request_to_a_deactivated_user_is_refused(db_session, world):
    world["accountant"].is_active = False
    db_session.flush()
    data = tasks.TaskData(assignee_id=world["accountant"].id, goal="Акт", due_on=NOW.date())
    with pytest.raises(ValidationError) as refused:
        tasks.forward(db_session, data, actor=world["manager"], today=NOW.date())
    assert "отключён" in refused.value.fields["assignee_id"]
    assert db_session.scalar(select(func.count(Task.id))) == 0


# --- merges -------------------------------------------------------------------------------------


def test_a_merged_clients_contacts_move_to_the_survivor_and_back(db_session, world):
    duplicate = make_client(db_session, world["head"], name="Ромашка ООО", inn="7728168971")
    activity = planned(db_session, world, client_id=duplicate.id, contact_id=None)
    dedupe.merge_clients(db_session, world["company"], duplicate, actor=world["head"])
    db_session.expire_all()
    assert activity.client_id == world["company"].id
    with pytest.raises(ValidationError) as refused:
        planned(db_session, world, client_id=duplicate.id, contact_id=None)
    assert "объединён" in refused.value.fields["client_id"]
    dedupe.unmerge_client(db_session, duplicate, actor=world["head"])
    db_session.expire_all()
    assert activity.client_id == duplicate.id


def test_a_typed_next_contact_date_is_never_dropped_and_never_past(db_session, world):
    deal = deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=world["company"].id, project_id=world["project"].id),
        actor=world["manager"],
    )
    sales = deal_services.pipeline_by_code(db_session, "sales").stages
    ten = next(s for s in sales if s.percent == 10)
    with pytest.raises(ValidationError) as refused:
        deal_services.move_to_stage(
            db_session,
            deal,
            ten,
            actor=world["manager"],
            next_contact_date=dt.date.today() - dt.timedelta(days=1),
        )
    assert "в прошлом" in refused.value.fields["next_contact_date"]
    assert deal.stage_id != ten.id and services.activities_of_deal(db_session, deal) == []
    # A stage that does not need the date still keeps it: it becomes a planned call.
    day = dt.date.today() + dt.timedelta(days=3)
    deal_services.move_to_stage(
        db_session, deal, ten, actor=world["manager"], next_contact_date=day
    )
    [call] = services.activities_of_deal(db_session, deal)
    assert services.to_local(call.starts_at, world["manager"]).date() == day
    # Deferred demand then accepts the contact already planned ahead without a new date.
    deferred = next(
        s
        for s in db_session.scalars(select(Stage).where(Stage.requires_next_contact.is_(True)))
        if s.is_active
    )
    deal_services.move_to_stage(db_session, deal, deferred, actor=world["manager"])
    assert deal.stage_id == deferred.id
    assert len(services.activities_of_deal(db_session, deal)) == 1


def test_a_new_deal_in_deferred_demand_needs_its_date(db_session, world):
    deferred = next(
        s
        for s in db_session.scalars(select(Stage).where(Stage.requires_next_contact.is_(True)))
        if s.is_active
    )
    data = {"client_id": world["company"].id, "project_id": world["project"].id}
    with pytest.raises(ValidationError) as refused:
        deal_services.create_deal(
            db_session,
            deal_services.DealData(**data, stage_id=deferred.id),
            actor=world["manager"],
        )
    assert "next_contact_date" in refused.value.fields
    day = dt.date.today() + dt.timedelta(days=40)
    deal = deal_services.create_deal(
        db_session,
        deal_services.DealData(**data, stage_id=deferred.id, next_contact_date=day),
        actor=world["manager"],
    )
    [call] = services.activities_of_deal(db_session, deal)
    assert call.status == Status.PLANNED.value and call.deal_id == deal.id


def test_deferred_demand_plans_the_next_contact_once(db_session, world):
    deal = deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=world["company"].id, project_id=world["project"].id),
        actor=world["manager"],
    )
    deferred = next(
        s
        for s in db_session.scalars(select(Stage).where(Stage.requires_next_contact.is_(True)))
        if s.is_active
    )
    day = dt.date.today() + dt.timedelta(days=30)
    deal_services.move_to_stage(
        db_session, deal, deferred, actor=world["manager"], next_contact_date=day
    )
    [call] = services.activities_of_deal(db_session, deal)
    assert call.status == Status.PLANNED.value and call.responsible_id == world["manager"].id
    local = services.to_local(call.starts_at, world["manager"])
    assert (local.date(), local.hour) == (day, 10)
    assert "Следующий шаг по сделке" in call.goal
    sales = deal_services.first_stage(deal_services.pipeline_by_code(db_session, "sales"))
    deal_services.move_to_stage(db_session, deal, sales, actor=world["manager"])
    deal_services.move_to_stage(
        db_session, deal, deferred, actor=world["manager"], next_contact_date=day
    )
    assert len(services.activities_of_deal(db_session, deal)) == 1


def test_ru_datetime_prints_what_babel_prints_in_moscow_time():
    from babel.dates import format_datetime

    from erp_crm.ui import LOCAL_TZ, ru_datetime

    for moment in (
        NOW,
        dt.datetime(2026, 1, 1, 0, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 31, 22, 59, tzinfo=dt.timezone(dt.timedelta(hours=4))),
        dt.datetime(2001, 3, 25, 23, 30, tzinfo=dt.UTC),  # when Moscow still moved its clocks
    ):
        babel = format_datetime(moment.astimezone(LOCAL_TZ), "dd.MM.yyyy HH:mm", locale="ru")
        assert ru_datetime(moment) == babel
    assert ru_datetime(None) == ""


def test_my_day_lists_at_most_the_limit_soonest_first_with_the_contact_person(db_session, world):
    from erp_crm.clients.models import ContactChannel

    person = world["contact"]
    person.channels.append(ContactChannel(kind="email", value="ivan@example.ru"))
    person.channels.append(ContactChannel(kind="phone", value="+7 495 100-00-02"))
    person.channels.append(ContactChannel(kind="phone", value="+7 495 100-00-01"))
    db_session.flush()
    first = planned(db_session, world, starts_at="2026-12-07T11:56")
    second = planned(db_session, world, starts_at="2026-12-07T11:57", contact_id=None)
    planned(db_session, world, starts_at="2026-12-07T11:58")
    day = services.day_of(db_session, world["manager"], now=NOW, limit=2)
    assert [a.id for a in day.overdue] == [first.id, second.id]
    item = day.overdue[0]
    assert (item.type.name, item.type.icon) == (world["call"].name, world["call"].icon)
    assert item.client.name == world["company"].name and item.goal == first.goal
    assert item.contact.full_name == "Сидоров Иван"
    # Every phone (not the e-mail), in the order they were entered.
    assert item.contact.phones == person.phones and len(person.phones) == 3
    assert item.contact.phones[1:] == ["+7 495 100-00-02", "+7 495 100-00-01"]
    assert day.overdue[1].contact is None and item.is_overdue(NOW)
