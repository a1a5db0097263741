"""The history pages and the client card's timeline read in Russian: merges and reassignments
summarized, coded values by name, phones formatted, no ids, column names or Python reprs."""

from __future__ import annotations

import pytest

from erp_crm.audit import presentation
from erp_crm.auth import services as auth_services
from erp_crm.clients import contacts, dedupe, groups, services
from erp_crm.db import set_actor
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import Lead
from tests.fixtures.app import PASSWORD
from tests.fixtures.deals import make_project

# What a page must never show of the rows it renders.
RAW = (
    "survivor_id",
    "duplicate_id",
    "moved_by_hooks",
    "left_on_duplicate",
    "contact_ids",
    "erp_crm.",
    "{'",
    "['",
    "password_hash",
    "***",
)


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="audit_admin", full_name="Админов Андрей")


def new_client(session, actor, name, **fields):
    return services.create_client(session, services.ClientData(name=name, **fields), actor=actor)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def assert_clean(html: str) -> None:
    for raw in RAW:
        assert raw not in html, raw


# --- merging -------------------------------------------------------------------------------------


@pytest.fixture
def merged(db_session, admin):
    """A duplicate with 2 contacts, a group, a deal and a lead merged into the survivor."""
    set_actor(db_session, admin)
    survivor = new_client(db_session, admin, "ООО «Ромашка»", inn="7707083893", kpp="773601001")
    duplicate = new_client(
        db_session, admin, "Ромашка ООО", city="Самара", readiness=3, website="romashka.example"
    )
    for name, phone in (("Иванов Иван", "+7 962 658-95-33"), ("Петрова Анна", "+7 927 123-45-67")):
        contacts.add_contact(
            db_session,
            duplicate,
            contacts.ContactData(full_name=name, phones=[phone]),
            actor=admin,
        )
    group = groups.create_group(db_session, name="Самара", kind="common", actor=admin)
    groups.add_to_group(db_session, group, [duplicate.id], actor=admin)
    project = make_project(db_session)
    deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=duplicate.id, project_id=project.id),
        actor=admin,
    )
    db_session.add(Lead(company_name="Ромашка", client_id=duplicate.id))
    db_session.flush()
    dedupe.merge_clients(db_session, survivor, duplicate, actor=admin)
    db_session.commit()
    return {"survivor": survivor, "duplicate": duplicate, "group": group}


def test_a_merge_reads_as_a_summary_on_both_histories(client, merged):
    survivor, duplicate = merged["survivor"], merged["duplicate"]
    client.login("audit_admin")

    html = page(client, f"/audit/clients/{survivor.id}")
    assert f"Присоединена запись «Ромашка ООО» (№ {duplicate.id})" in html
    assert "Перенесено: контактов 2, групп 1, сделок 1, заявок 1" in html
    assert "Заполнено из объединённой записи: " in html
    assert "Город — Самара" in html
    assert "Готовность к покупке — Рассматривает участие" in html
    assert_clean(html)

    html = page(client, f"/audit/clients/{duplicate.id}")
    assert f"Объединена с ООО «Ромашка» (№ {survivor.id})" in html
    assert "Перенесено: контактов 2, групп 1, сделок 1, заявок 1" in html
    assert_clean(html)

    html = page(client, "/audit/?entity_type=clients")
    assert "Присоединена запись «Ромашка ООО»" in html
    assert_clean(html)


def test_the_survivors_card_says_which_record_a_merged_duplicates_rows_belong_to(client, merged):
    survivor, duplicate = merged["survivor"], merged["duplicate"]
    client.login("audit_admin")
    html = page(client, f"/clients/{survivor.id}")
    mark = f"(запись № {duplicate.id} «Ромашка ООО»)"
    assert f"Запись объединена в другую {mark}" in html
    assert f"Контрагент создан {mark}" in html
    assert html.count("Контрагент создан") == 2  # its own, unmarked, and the duplicate's
    assert f"Присоединена запись «Ромашка ООО» (№ {duplicate.id})" in html
    assert "Перенесено: контактов 2, групп 1, сделок 1, заявок 1" in html
    assert "Телефоны</span>: +7 962 658-95-33" in html  # the contact's creation
    assert ": +79626589533" not in html  # (the card's own tel: links keep the raw number)
    assert_clean(html)


def test_an_undone_merge_names_both_records(client, db_session, merged, admin):
    survivor, duplicate = merged["survivor"], merged["duplicate"]
    dedupe.unmerge_client(db_session, duplicate, actor=admin)
    db_session.commit()
    client.login("audit_admin")

    html = page(client, f"/audit/clients/{survivor.id}")
    assert f"Отделена запись «Ромашка ООО» (№ {duplicate.id})" in html
    assert "Возвращено: контактов 2, групп 1, сделок 1, заявок 1" in html
    assert "Заполненные при объединении поля остались: " in html
    assert_clean(html)
    html = page(client, f"/audit/clients/{duplicate.id}")
    assert f"Отменено объединение с ООО «Ромашка» (№ {survivor.id})" in html
    assert_clean(html)


# --- creation, contacts, users -------------------------------------------------------------------


def test_a_created_client_shows_its_fields_by_name_not_codes(client, db_session, admin):
    created = new_client(db_session, admin, "ООО «Альфа»", kind="legal", city="Пермь")
    db_session.commit()
    client.login("audit_admin")
    for url in (f"/audit/clients/{created.id}", f"/clients/{created.id}"):
        html = page(client, url)
        assert "Вид</span>: Юридическое лицо" in html, url
        assert "Тип отношений</span>: Холодный" in html, url
        assert "Готовность к покупке</span>: Не оценена" in html, url
        assert "Создал</span>: Админов Андрей" in html, url
        assert "Город</span>: Пермь" in html, url
        for raw in ("legal", "cold", "created_by_id", "id</span>", "Сайт</span>"):
            assert raw not in html, (url, raw)
        assert_clean(html)


def test_contact_phones_are_shown_formatted(client, db_session, admin):
    owner = new_client(db_session, admin, "ООО «Бета»")
    contact = contacts.add_contact(
        db_session,
        owner,
        contacts.ContactData(full_name="Сидоров Пётр", phones=["+79626589533"]),
        actor=admin,
    )
    contacts.update_contact(
        db_session,
        contact,
        contacts.ContactData(full_name="Сидоров Пётр", phones=["+79626589533", "+78462071144"]),
        actor=admin,
    )
    db_session.commit()
    client.login("audit_admin")
    html = page(client, f"/audit/contact_persons/{contact.id}")
    assert "Телефоны</span>: +7 962 658-95-33</div>" in html
    assert "Телефоны</span>: +7 962 658-95-33 → +7 962 658-95-33, +7 846 207-11-44" in html
    assert f"Контрагент</span>: ООО «Бета» (№ {owner.id})" in html
    assert "+79626589533" not in html and "client_id" not in html
    assert_clean(html)


def test_a_users_role_and_password_read_in_words(client, db_session, admin, make_user):
    user = make_user("sales_manager", username="petrov", full_name="Петров Пётр")
    auth_services.update_user(
        db_session,
        user,
        auth_services.UserData(
            username="petrov",
            full_name="Петров Пётр",
            role="head_of_sales",
            password=PASSWORD + "-new",
        ),
        actor=admin,
    )
    db_session.commit()
    client.login("audit_admin")
    html = page(client, f"/audit/users/{user.id}")
    assert "Роль</span>: Менеджер отдела продаж → Руководитель отдела продаж" in html
    assert "Роль</span>: Менеджер отдела продаж</div>" in html  # the creation
    assert "Пароль</span>: задан" in html and "Пароль</span>: изменён" in html
    assert "sales_manager" not in html and "head_of_sales" not in html
    assert_clean(html)


def test_a_reassignment_names_the_heirs_and_counts(client, db_session, admin, make_user):
    leaver = make_user("sales_manager", username="leaver", full_name="Уходящий Ушёл")
    ivanov = make_user("sales_manager", username="ivanov", full_name="Иванов Иван")
    petrov = make_user("sales_manager", username="petrov2", full_name="Петров Пётр")
    clients = [
        new_client(db_session, admin, f"ООО «Клиент {n}»", curator_id=leaver.id) for n in range(4)
    ]
    contacts.add_contact(
        db_session,
        clients[0],
        contacts.ContactData(full_name="Личный Контакт", curator_id=leaver.id),
        actor=admin,
    )
    project = make_project(db_session)
    deal_services.create_deal(
        db_session,
        deal_services.DealData(
            client_id=clients[0].id, project_id=project.id, manager_id=leaver.id
        ),
        actor=admin,
    )
    services.reassign_clients(db_session, leaver, [ivanov, petrov], actor=admin)
    db_session.commit()
    client.login("audit_admin")
    html = page(client, f"/audit/users/{leaver.id}")
    assert (
        "Клиенты переданы: 4 (Иванов Иван — 2, Петров Пётр — 2), открытых сделок 1, контактов 1"
        in html
    )
    assert '"to"' not in html and "{&#39;" not in html
    assert_clean(html)


# --- other explicit records ----------------------------------------------------------------------


def test_group_members_are_named_not_listed_as_ids(client, db_session, admin):
    first = new_client(db_session, admin, "ООО «Гамма»")
    second = new_client(db_session, admin, "ООО «Дельта»")
    group = groups.create_group(db_session, name="Пермь", kind="common", actor=admin)
    groups.add_to_group(db_session, group, [first.id, second.id], actor=admin)
    db_session.commit()
    client.login("audit_admin")
    html = page(client, f"/audit/client_groups/{group.id}")
    assert f"Контрагенты</span>: ООО «Гамма» (№ {first.id}), ООО «Дельта» (№ {second.id})" in html
    assert "Вид группы</span>: Общая" in html
    assert "client_ids" not in html and "common" not in html
    assert_clean(html)


def test_any_other_record_reads_without_python_reprs(app):
    lines = presentation.entry_lines(
        "something_new",
        {
            "format": "xlsx",
            "rows": 3,
            "filter": {"city": "Самара", "kind": "legal", "include_merged": True},
            "ids": [1, 2],
            "nested": {"a": [1, {"b": None}]},
        },
        "users",
    )
    text = "\n".join(f"{line.label}: {line.text}" for line in lines)
    assert "Формат: Excel (XLSX)" in text
    assert "Отбор: Город: Самара; Вид: Юридическое лицо; С объединёнными записями: да" in text
    assert "ids: 1, 2" in text
    for raw in ("{", "[", "'", "None", "True"):
        assert raw not in text, raw


def test_document_and_budget_codes_read_by_their_labels(app):
    from erp_crm.audit import presentation
    from erp_crm.budgets.models import BudgetArticle, BudgetVersion
    from erp_crm.sales_documents.models import Document

    with app.test_request_context():
        assert presentation.value_text("status", "cancelled", Document) == "Аннулирован"
        assert presentation.value_text("kind", "vat_invoice", Document) == "Счёт-фактура"
        assert presentation.value_text("status", "superseded", BudgetVersion) == "Заменена"
        assert presentation.value_text("direction", "expense", BudgetArticle) == "Расход"


def test_every_audited_column_has_a_russian_label(app):
    """The history never shows a raw key («seq», «payer_inn»): each column of an audited model
    that the history can show has a label (the model's own or the areas' vocabulary)."""
    from erp_crm.db import Audited, Base

    missing = []
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if not issubclass(cls, Audited):
            continue
        hidden = set(getattr(cls, "__audit_exclude__", ()) or ()) | set(
            getattr(cls, "__audit_secret__", ()) or ()
        )
        for column in cls.__table__.columns:
            if column.name in presentation.TECHNICAL_KEYS | hidden:
                continue
            if presentation.field_label(column.name, cls) == column.name:
                missing.append(f"{cls.__tablename__}.{column.name}")
    assert missing == []


def test_money_and_quantities_read_the_russian_way(app):
    from erp_crm.billing.models import Payment
    from erp_crm.sales_documents.models import Document

    with app.app_context():
        assert presentation.value_text("amount", "75000.00", Document) == "75\u00a0000,00"
        assert presentation.value_text("vat_amount", "13524.59", Document) == "13\u00a0524,59"
        assert presentation.value_text("unallocated", "0.00", Payment) == "0,00"
        assert presentation.field_label("seq", Document) == "Порядковый номер"
        assert presentation.field_label("payer_inn", Payment) == "ИНН плательщика"
        assert presentation.value_text("number", "15", Document) == "15"  # text stays text
