"""The contact pages as a manager uses them: plan from the client card, complete with a result,
«Мой день», bulk planning from the client list, forwarding a request (both backends)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from erp_crm.activities import services
from erp_crm.activities.models import Activity, ActivityReason, ActivityType, Status, Task
from erp_crm.db import utcnow
from tests.fixtures.activities import plan_call
from tests.fixtures.deals import make_client


def setup_world(db_session, make_user):
    manager = make_user("sales_manager", username="anna", full_name="Анна Петрова")
    accountant = make_user("accountant", username="buh", full_name="Ольга Бухгалтер")
    client = make_client(db_session, manager)
    client.curator_id = manager.id
    db_session.commit()
    call = db_session.scalar(select(ActivityType).where(ActivityType.code == "call"))
    return manager, accountant, client, call


def tomorrow_at(hour: int) -> str:
    day = dt.date.today() + dt.timedelta(days=1)
    return f"{day.isoformat()}T{hour:02d}:00"


def test_plan_from_the_client_card_then_complete_as_postponed(client, db_session, make_user):
    manager, _, company, call = setup_world(db_session, make_user)
    client.login("anna")
    card = client.get(f"/clients/{company.id}").get_data(as_text=True)
    assert "client-activities" in card and f"/activities/new?client_id={company.id}" in card

    page = f"/activities/new?client_id={company.id}"
    refused = client.submit(
        page,
        {"client_id": company.id, "type_id": call.id, "goal": "", "starts_at": tomorrow_at(11)},
        token_page=page,
    )
    assert refused.status_code == 422 and "Укажите цель контакта" in refused.get_data(as_text=True)
    assert db_session.scalar(select(Activity.id)) is None

    answer = client.submit(
        page,
        {
            "client_id": company.id,
            "type_id": call.id,
            "goal": "Пригласить на выставку",
            "starts_at": tomorrow_at(11),
            "reminders": ["15", "60"],
        },
        token_page=page,
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    activity = db_session.scalar(select(Activity))
    assert activity.reminders == [60, 15] and activity.responsible_id == manager.id

    day = client.get("/activities/").get_data(as_text=True)
    assert "Пригласить на выставку" in day

    show = f"/activities/{activity.id}"
    assert "Выполнить контакт" in client.get(show).get_data(as_text=True)
    refused = client.submit(f"{show}/complete", {"kind": "postponed"}, token_page=show)
    assert refused.status_code == 422
    assert "Выберите причину переноса" in refused.get_data(as_text=True)
    why = db_session.scalar(select(ActivityReason).where(ActivityReason.kind == "postpone"))
    answer = client.submit(
        f"{show}/complete",
        {"kind": "postponed", "postpone_reason_id": why.id, "postponed_to": tomorrow_at(15)},
        token_page=show,
    )
    assert answer.status_code == 302
    db_session.expire_all()
    assert activity.status == Status.DONE.value and activity.next_activity_id
    following = db_session.get(Activity, activity.next_activity_id)
    assert services.to_local(following.starts_at, manager).hour == 15
    assert "next-activity" in client.get(show).get_data(as_text=True)


def test_another_manager_cannot_complete_or_cancel(client, db_session, make_user):
    manager, _, company, call = setup_world(db_session, make_user)
    make_user("sales_manager", username="boris")
    activity = services.plan(
        db_session,
        services.ActivityData(
            type_id=call.id,
            goal="Звонок",
            client_id=company.id,
            starts_at=utcnow() + dt.timedelta(days=1),
        ),
        actor=manager,
    )
    db_session.commit()
    client.login("boris")
    show = f"/activities/{activity.id}"
    assert "Выполнить контакт" not in client.get(show).get_data(as_text=True)
    assert client.submit(f"{show}/complete", {"kind": "other", "text": "x"}).status_code == 403
    assert client.submit(f"{show}/cancel").status_code == 403
    db_session.expire_all()
    assert activity.status == Status.PLANNED.value


def test_bulk_planning_from_the_client_list(client, db_session, make_user):
    manager, _, company, call = setup_world(db_session, make_user)
    client.login("anna")
    form = client.submit("/activities/bulk", {"client_ids": [company.id]}, token_page="/clients/")
    assert form.status_code == 200 and "клиентов — 1" in form.get_data(as_text=True)
    answer = client.submit(
        "/activities/bulk",
        {
            "client_ids": [company.id],
            "type_id": call.id,
            "goal": "Обзвон по группе",
            "first_day": (dt.date.today() + dt.timedelta(days=1)).isoformat(),
            "working_days": 3,
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    [planned] = db_session.scalars(select(Activity).where(Activity.goal == "Обзвон по группе"))
    assert planned.responsible_id == manager.id and planned.client_id == company.id


def test_a_request_forwarded_and_answered_on_the_pages(client, db_session, make_user):
    _, accountant, company, _ = setup_world(db_session, make_user)
    client.login("anna")
    page = f"/activities/tasks/new?client_id={company.id}"
    answer = client.submit(
        page,
        {
            "client_id": company.id,
            "assignee_id": accountant.id,
            "goal": "Пришлите акт сверки",
            "due_on": (dt.date.today() + dt.timedelta(days=2)).isoformat(),
        },
        token_page=page,
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    task = db_session.scalar(select(Task))
    client.submit("/logout")
    client.login("buh")
    assert "Пришлите акт сверки" in client.get("/activities/tasks/").get_data(as_text=True)
    done = client.submit(
        f"/activities/tasks/{task.id}/done", {"answer": "Отправила на почту"}, token_page="/"
    )
    assert done.status_code == 302
    db_session.expire_all()
    assert task.status == "done" and task.answer == "Отправила на почту"
    history = client.get(f"/clients/{company.id}").get_data(as_text=True)
    assert "Отправила на почту" in history


def test_the_deal_card_lists_its_contacts_and_flags_no_next_step(client, db_session, make_user):
    from erp_crm.deals import services as deal_services
    from tests.fixtures.deals import make_project

    manager, _, company, call = setup_world(db_session, make_user)
    project = make_project(db_session)
    deal = deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=company.id, project_id=project.id),
        actor=manager,
    )
    db_session.commit()
    client.login("anna")
    card = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "deal-activities" in card and "no-next-step" in card
    assert f"/activities/new?deal_id={deal.id}" in card
    services.plan(
        db_session,
        services.ActivityData(
            type_id=call.id,
            goal="Согласовать стенд",
            client_id=company.id,
            deal_id=deal.id,
            starts_at=utcnow() + dt.timedelta(days=1),
        ),
        actor=manager,
    )
    db_session.commit()
    card = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert "Согласовать стенд" in card and "no-next-step" not in card

    # The client's rating from the deal card: the scores are required, then it is recorded.
    rate = f"/activities/ratings/deal/{deal.id}"
    path = f"/deals/{deal.id}"
    refused = client.submit(rate, {"manager_score": "5"}, token_page=path)
    assert refused.status_code == 302
    assert "Оценка не записана" in client.get(path).get_data(as_text=True)
    scores = {"manager_score": "5", "project_score": "4", "company_score": "5"}
    recorded = client.submit(rate, {**scores, "comment": "Всё понравилось"}, token_page=path)
    assert recorded.status_code == 302
    card = client.get(path).get_data(as_text=True)
    assert "менеджер 5, проект 4, компания 5: «Всё понравилось»" in card
    from erp_crm.activities.models import Rating

    [rating] = db_session.scalars(select(Rating).where(Rating.deal_id == deal.id)).all()
    assert (rating.client_id, rating.manager_id) == (company.id, manager.id)


def test_the_head_of_sales_sees_the_department_day(client, db_session, make_user):
    manager, _, company, call = setup_world(db_session, make_user)
    plan_call(db_session, manager, company, "Звонок отдела", days=1)
    db_session.commit()
    make_user("head_of_sales", username="rop_day")
    client.login("rop_day")
    page = client.get("/activities/").get_data(as_text=True)
    assert 'id="department"' in page and manager.full_name in page


def test_the_head_of_sales_keeps_the_catalogs(client, db_session, make_user):
    from erp_crm.activities.models import ResultRule

    make_user("head_of_sales", username="rop")
    client.login("rop")
    page = "/activities/catalogs"
    assert "Следующий шаг после результата" in client.get(page).get_data(as_text=True)
    added = client.submit(
        "/activities/catalogs/types",
        {"name": "Видеозвонок", "default_minutes": 30},
        token_page=page,
    )
    assert added.status_code == 302
    kind = db_session.scalar(select(ActivityType).where(ActivityType.name == "Видеозвонок"))
    assert kind.default_minutes == 30 and kind.is_active
    again = client.submit(
        "/activities/catalogs/types",
        {"name": "видеозвонок", "default_minutes": 30},
        token_page=page,
    )
    assert again.status_code == 409 and "уже есть" in again.get_data(as_text=True)
    client.submit(f"/activities/catalogs/types/{kind.id}/toggle", token_page=page)
    db_session.expire_all()
    assert not kind.is_active
    rule = client.submit(
        "/activities/catalogs/rules/refused_visit", {"follow_up_days": 30}, token_page=page
    )
    assert rule.status_code == 302
    saved = db_session.scalar(select(ResultRule).where(ResultRule.result_kind == "refused_visit"))
    assert saved.follow_up_days == 30 and saved.stage_id is None


def test_my_day_shows_each_contact_with_its_person_phones_and_time(client, db_session, make_user):
    from erp_crm.clients import contacts
    from erp_crm.ui import ru_datetime

    manager, _, company, call = setup_world(db_session, make_user)
    person = contacts.add_contact(
        db_session,
        company,
        contacts.ContactData(full_name="Сидоров Иван", phones=["+7 846 200-00-00"]),
        actor=manager,
    )
    db_session.flush()
    with_person = services.plan(
        db_session,
        services.ActivityData(
            type_id=call.id,
            goal="Пригласить на выставку",
            client_id=company.id,
            contact_id=person.id,
            starts_at=(utcnow() + dt.timedelta(hours=20)).replace(microsecond=0),  # tomorrow
        ),
        actor=manager,
    )
    overdue = plan_call(db_session, manager, company, "Перезвонить", days=1)
    overdue.starts_at = utcnow() - dt.timedelta(days=3)
    later = plan_call(db_session, manager, company, "Через неделю", days=7)
    db_session.commit()
    client.login("anna")
    page = client.get("/activities/").get_data(as_text=True)
    lists = page.split('id="overdue"')[1]
    overdue_part, rest = lists.split('id="today"')
    assert f'href="/activities/{overdue.id}"' in overdue_part and "просрочен" in overdue_part
    assert ru_datetime(overdue.starts_at) in overdue_part
    assert f'href="/activities/{with_person.id}"' in rest
    assert "Сидоров Иван" in rest and person.phones[0] in rest
    assert f"{call.name}: {company.name}" in rest
    assert ru_datetime(with_person.starts_at) in rest and "Пригласить на выставку" in rest
    assert f"/activities/{later.id}" not in page  # next week is not on the day's lists
