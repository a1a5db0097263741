"""The single client base: validation, curators and access, search and filters, groups, API."""

import pytest
from sqlalchemy import select

from erp_crm.audit.models import AuditEntry
from erp_crm.clients import competitors, contacts, groups, services
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.clients.search import ClientFilter, client_query
from erp_crm.errors import PermissionDenied, ValidationError

ROMASHKA = {
    "name": "ООО «Ромашка»",
    "inn": "7707083893",
    "kpp": "773601001",
    "city": "Самара",
    "region": "Самарская область",
    "industry": "Строительство",
}


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", username="iao")


def new_client(session, actor, **fields):
    return services.create_client(session, services.ClientData(**fields), actor=actor)


# --- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "X", "inn": "7707083894"}, "inn", "контрольная сумма"),
        ({"name": "X", "inn": "500100732259", "kind": "legal"}, "inn", "10 цифр"),
        ({"name": "X", "inn": "7707083893", "kind": "sole_trader"}, "inn", "12 цифр"),
        ({"name": "X", "kind": "person", "kpp": "773601001"}, "kpp", "только у юридического"),
        ({"name": "X", "kpp": "77360"}, "kpp", "9 знаков"),
        ({"name": "X", "ogrn": "1027700132194"}, "ogrn", "Неверный ОГРН"),
        ({"name": "X", "kind": "person", "ogrn": "1027700132195"}, "ogrn", "нет ОГРН"),
        ({"name": "", "inn": "7707083893"}, "name", "Укажите наименование"),
        ({"name": "X", "readiness": 7}, "readiness", "от 0 до 4"),
        ({"name": "X", "website": "not a site"}, "website", "адрес сайта"),
    ],
)
def test_wrong_requisites_are_refused_with_a_field_message(
    db_session, analyst, fields, field, message
):
    with pytest.raises(ValidationError) as err:
        new_client(db_session, analyst, **fields)
    assert message in err.value.fields[field]


def test_real_requisites_of_each_kind_are_accepted(db_session, analyst):
    legal = new_client(
        db_session,
        analyst,
        name="ПАО Сбербанк",
        inn="7707083893",
        kpp="773601001",
        ogrn="1027700132195",
    )
    trader = new_client(
        db_session,
        analyst,
        name="ИП Петров",
        kind="sole_trader",
        inn="500100732259",
        ogrn="304500116000157",
    )
    person = new_client(
        db_session, analyst, name="Сидоров С. С.", kind="person", inn="500100732259"
    )
    assert legal.kpp == "773601001" and trader.kpp is None and person.ogrn is None
    assert legal.relationship_type == "cold"


def test_contact_phones_are_normalized_and_bad_ones_refused(db_session, analyst):
    client = new_client(db_session, analyst, name="Альфа")
    contact = contacts.add_contact(
        db_session,
        client,
        contacts.ContactData(
            full_name="Иванова Анна",
            phones=["8 (846) 207-11-44", "+78462071144"],
            emails=["Anna@Example.RU"],
        ),
        actor=analyst,
    )
    assert contact.phones == ["+78462071144"]
    assert contact.emails == ["anna@example.ru"]
    with pytest.raises(ValidationError) as err:
        contacts.add_contact(
            db_session, client, contacts.ContactData(full_name="Б", phones=["12"]), actor=analyst
        )
    assert "Неверный номер" in err.value.fields["phones"]
    with pytest.raises(ValidationError) as err:
        contacts.add_contact(
            db_session, client, contacts.ContactData(full_name="В", emails=["a@"]), actor=analyst
        )
    assert "Неверный адрес" in err.value.fields["emails"]


# --- curators and access ------------------------------------------------------------------------


def test_a_manager_becomes_curator_of_what_they_create(db_session, make_user):
    manager = make_user("sales_manager", username="anna")
    other = make_user("sales_manager", username="boris")
    client = new_client(db_session, manager, name="Бета", curator_id=other.id)
    assert client.curator_id == manager.id


def test_manager_a_cannot_edit_manager_bs_client(client, db_session, make_user):
    a = make_user("sales_manager", username="mgr_a")
    b = make_user("sales_manager", username="mgr_b")
    theirs = new_client(db_session, b, name="Клиент Бориса")
    db_session.commit()
    with pytest.raises(PermissionDenied):
        services.update_client(db_session, theirs, services.ClientData(name="Моё!"), actor=a)
    client.login("mgr_a")
    assert client.get(f"/clients/{theirs.id}").status_code == 200  # the shared base is visible
    assert client.get(f"/clients/{theirs.id}/edit").status_code == 403
    response = client.submit(f"/clients/{theirs.id}/edit", {"name": "Моё!", "kind": "legal"})
    assert response.status_code == 403
    db_session.refresh(theirs)
    assert theirs.name == "Клиент Бориса"


def test_manager_edits_own_client_but_cannot_hand_it_over(client, db_session, make_user):
    a = make_user("sales_manager", username="mgr_c")
    b = make_user("sales_manager", username="mgr_d")
    mine = new_client(db_session, a, name="Мой клиент")
    db_session.commit()
    with pytest.raises(ValidationError):
        services.update_client(
            db_session, mine, services.ClientData(name="Мой", curator_id=b.id), actor=a
        )
    client.login("mgr_c")
    response = client.submit(
        f"/clients/{mine.id}/edit",
        {
            "name": "Мой клиент (обновлён)",
            "kind": "legal",
            "readiness": "3",
            "curator_id": str(b.id),
        },
    )
    assert response.status_code == 302
    db_session.refresh(mine)
    assert mine.name == "Мой клиент (обновлён)"
    assert mine.curator_id == a.id  # the curator field is not theirs to change
    assert mine.relationship_type == "potential"  # interest shown


def test_contact_curator_may_edit_that_contact_only(db_session, make_user, analyst):
    helper = make_user("sales_manager", username="mgr_e")
    c = new_client(db_session, analyst, name="Гамма")
    mine = contacts.add_contact(
        db_session, c, contacts.ContactData(full_name="Свой", curator_id=helper.id), actor=analyst
    )
    other = contacts.add_contact(
        db_session, c, contacts.ContactData(full_name="Чужой"), actor=analyst
    )
    contacts.update_contact(
        db_session, mine, contacts.ContactData(full_name="Свой Контакт"), actor=helper
    )
    with pytest.raises(PermissionDenied):
        contacts.update_contact(
            db_session, other, contacts.ContactData(full_name="X"), actor=helper
        )


def test_reassigning_a_leavers_clients_moves_them_evenly_and_audits(client, db_session, make_user):
    head = make_user("head_of_sales", username="head1")
    leaver = make_user("sales_manager", username="leaver1")
    x = make_user("sales_manager", username="heir_x")
    y = make_user("sales_manager", username="heir_y")
    made = [new_client(db_session, leaver, name=f"Клиент {n}") for n in range(5)]
    contacts.add_contact(
        db_session, made[0], contacts.ContactData(full_name="К", curator_id=leaver.id), actor=leaver
    )
    db_session.commit()
    client.login("head1")
    response = client.submit(
        "/clients/reassign",
        {"from_user_id": str(leaver.id), "to_user_ids": [str(x.id), str(y.id)]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Передано клиентов: 5, открытых сделок: 0." in page
    db_session.expire_all()
    curators = [db_session.get(Client, c.id).curator_id for c in made]
    assert sorted(curators.count(u) for u in (x.id, y.id)) == [2, 3]
    # the contact the leaver curated personally now follows its client's new curator, audited
    contact = db_session.scalar(select(ContactPerson))
    assert contact.curator_id is None and contact.client.curator_id in (x.id, y.id)
    contact_moves = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "contact_persons",
            AuditEntry.entity_id == contact.id,
            AuditEntry.action == "update",
        )
    ).all()
    assert [m.changes["curator_id"] for m in contact_moves] == [[leaver.id, None]]
    assert "— 5 клиентов" not in page  # the leaver has none left
    again = client.get("/clients/reassign").get_data(as_text=True)
    assert "— 3 клиента" in again and "— 2 клиента" in again  # only those who have clients
    moves = db_session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "clients", AuditEntry.action == "update")
    ).all()
    assert len(moves) == 5 and all(m.actor_id == head.id for m in moves)
    assert all(m.changes["curator_id"][0] == leaver.id for m in moves)


# --- search and filters -------------------------------------------------------------------------


@pytest.fixture
def base(db_session, analyst, make_user):
    manager = make_user("sales_manager", username="mgr_s")
    romashka = new_client(db_session, analyst, **ROMASHKA, curator_id=manager.id, readiness=4)
    yolka = new_client(
        db_session,
        analyst,
        name="АО «Ёлка-Трейд»",
        inn="7736207543",
        city="Казань",
        region="Республика Татарстан",
        industry="Торговля",
        readiness=1,
    )
    contacts.add_contact(
        db_session,
        yolka,
        contacts.ContactData(
            full_name="Петров Пётр", phones=["+7 927 555-12-34"], emails=["petrov@elka.ru"]
        ),
        actor=analyst,
    )
    db_session.commit()
    return {"romashka": romashka, "yolka": yolka, "manager": manager, "analyst": analyst}


def _names(session, actor, **args):
    query = client_query(ClientFilter.from_args(args), actor=actor)
    return [c.name for c in session.scalars(query)]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ромашка", ["ООО «Ромашка»"]),
        ("РОМАШ", ["ООО «Ромашка»"]),
        ("елка", ["АО «Ёлка-Трейд»"]),
        ("Ёлка", ["АО «Ёлка-Трейд»"]),
        ("7707083893", ["ООО «Ромашка»"]),
        ("773620", ["АО «Ёлка-Трейд»"]),
        ("8 927 555 12 34", ["АО «Ёлка-Трейд»"]),
        ("555-12-34", ["АО «Ёлка-Трейд»"]),
        ("9275551234", ["АО «Ёлка-Трейд»"]),
        ("+7 (927) 555-12-34", ["АО «Ёлка-Трейд»"]),
        ("+7 927 555-12-35", []),
        ("PETROV@elka.ru", ["АО «Ёлка-Трейд»"]),
        ("100%_", []),
    ],
)
def test_search_by_name_inn_phone_email(db_session, base, q, expected):
    assert _names(db_session, base["analyst"], q=q) == expected


def test_filters_combine(db_session, base):
    actor = base["analyst"]
    assert _names(db_session, actor, region="Самарская область") == ["ООО «Ромашка»"]
    assert _names(db_session, actor, curator_id=str(base["manager"].id)) == ["ООО «Ромашка»"]
    assert _names(db_session, actor, curator_id="0") == ["АО «Ёлка-Трейд»"]
    assert _names(db_session, actor, readiness="4", industry="Строительство") == ["ООО «Ромашка»"]
    assert _names(db_session, actor, relationship="potential") == ["ООО «Ромашка»"]
    assert _names(db_session, actor, city="казань") == ["АО «Ёлка-Трейд»"]
    assert _names(db_session, actor, sort="readiness", direction="desc") == [
        "ООО «Ромашка»",
        "АО «Ёлка-Трейд»",
    ]
    assert _names(db_session, actor, readiness="junk") == _names(db_session, actor)


def test_group_and_competitor_filters(db_session, base):
    actor = base["analyst"]
    group = groups.create_group(
        db_session, name="Татарстан", kind="common", category="geography", actor=actor
    )
    groups.add_to_group(db_session, group, [base["yolka"].id], actor=actor)
    expo = competitors.add_competitor_exhibition(db_session, "Иннопром", actor=actor)
    competitors.add_competitor_participation(
        db_session, base["romashka"], expo.id, 2025, actor=actor
    )
    assert _names(db_session, actor, group_id=str(group.id)) == ["АО «Ёлка-Трейд»"]
    assert _names(db_session, actor, competitor_id=str(expo.id)) == ["ООО «Ромашка»"]


def test_participation_in_our_project_filter(db_session, base, make_user):
    """Clients with a deal in a project; «won» narrows to the project's participants."""
    from erp_crm.deals import services as deal_services
    from erp_crm.deals.models import Deal
    from tests.fixtures.deals import make_project

    actor = make_user("head_of_sales", username="head_p")
    project = make_project(db_session)
    other = make_project(db_session, code="OTH27", name="Другая выставка")
    deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=base["romashka"].id, project_id=project.id),
        actor=actor,
    )
    deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=base["yolka"].id, project_id=other.id),
        actor=actor,
    )
    db_session.flush()
    assert _names(db_session, actor, project_id=str(project.id)) == ["ООО «Ромашка»"]
    assert _names(db_session, actor, project_id=str(other.id)) == ["АО «Ёлка-Трейд»"]
    assert _names(db_session, actor, project_id=str(project.id), project_outcome="won") == []
    db_session.execute(
        Deal.__table__.update().where(Deal.client_id == base["romashka"].id).values(outcome="won")
    )
    assert _names(db_session, actor, project_id=str(project.id), project_outcome="won") == [
        "ООО «Ромашка»"
    ]
    assert _names(db_session, actor, project_id=str(project.id), project_outcome="junk") == [
        "ООО «Ромашка»"
    ]


def test_another_managers_personal_group_matches_nobody(db_session, base, make_user):
    owner = make_user("sales_manager", username="owner_g")
    other = make_user("sales_manager", username="other_g")
    personal = groups.create_group(db_session, name="Мои горячие", kind="personal", actor=owner)
    groups.add_to_group(db_session, personal, [base["yolka"].id], actor=owner)
    db_session.flush()
    assert _names(db_session, owner, group_id=str(personal.id)) == ["АО «Ёлка-Трейд»"]
    assert _names(db_session, other, group_id=str(personal.id)) == []
    assert _names(db_session, base["analyst"], group_id=str(personal.id)) == []


@pytest.mark.parametrize(
    "args",
    [
        "curator_id=99999999999999999999",
        "group_id=99999999999999999999",
        "readiness=99999999999999999999",
        "project_id=-99999999999999999999",
        "q=%00",
        "city=%00",
        "q=a%00b",
    ],
)
def test_absurd_filter_values_are_ignored_not_a_500(client, base, args):
    client.login("iao")
    assert client.get(f"/clients/?{args}").status_code == 200
    assert client.get(f"/clients/export.csv?{args}").status_code == 200


def test_saved_filters_are_saved_named_and_deleted_from_the_list_page(client, base, db_session):
    from erp_crm.clients.models import SavedFilter

    client.login("iao")
    too_long = client.submit(
        "/clients/filters", {"name": "Ф" * 101, "query": "region=X"}, follow_redirects=True
    )
    assert "не больше 100 символов" in too_long.get_data(as_text=True)
    client.submit("/clients/filters", {"name": "Казань", "query": "city=Казань"})
    saved = db_session.scalar(select(SavedFilter).where(SavedFilter.name == "Казань"))
    page = client.get("/clients/").get_data(as_text=True)
    assert f'form="delete-filter-{saved.id}"' in page
    assert f'action="/clients/filters/{saved.id}/delete"' in page
    client.submit(f"/clients/filters/{saved.id}/delete")
    assert db_session.scalar(select(SavedFilter).where(SavedFilter.name == "Казань")) is None


def test_editing_into_another_clients_requisites_asks_first(client, base, db_session):
    yolka = base["yolka"]
    client.login("iao")
    form = {
        "kind": "legal",
        "name": yolka.name,
        "inn": "7707083893",
        "kpp": "773601001",
        "city": "Казань",
        "readiness": "1",
    }
    response = client.submit(f"/clients/{yolka.id}/edit", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "С такими данными уже есть контрагент" in page and "Ромашка" in page
    db_session.expire_all()
    assert db_session.get(Client, yolka.id).inn == "7736207543"
    confirmed = client.submit(f"/clients/{yolka.id}/edit", {**form, "confirm_duplicate": "y"})
    assert confirmed.status_code == 302
    db_session.expire_all()
    assert db_session.get(Client, yolka.id).inn == "7707083893"
    # an edit that leaves the requisites, name and city alone asks nothing
    again = client.submit(f"/clients/{yolka.id}/edit", {**form, "readiness": "2"})
    assert again.status_code == 302


def test_a_contact_with_another_clients_phone_is_saved_with_a_warning(client, base, db_session):
    romashka = base["romashka"]
    client.login("iao")
    response = client.submit(
        f"/clients/{romashka.id}/contacts/new",
        {"full_name": "Сидоров Иван", "phones": "8 (927) 555-12-34"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Контактное лицо добавлено" in page
    assert "Такой же телефон или e-mail есть у контрагента" in page and "Ёлка-Трейд" in page


def test_a_managers_new_client_form_shows_the_curator_fixed(client, base):
    client.login("mgr_s")
    page = client.get("/clients/new").get_data(as_text=True)
    select_tag = page[page.index('name="curator_id"') - 200 : page.index('name="curator_id"') + 50]
    assert "disabled" in select_tag


def test_history_and_timeline_read_in_russian_with_names_not_ids(client, base, db_session):
    romashka, manager = base["romashka"], base["manager"]
    services.update_client(
        db_session,
        romashka,
        services.ClientData(**{**ROMASHKA, "curator_id": None, "mailing_consent": True}),
        actor=base["analyst"],
    )
    db_session.commit()
    client.login("iao")
    for url in (f"/audit/clients/{romashka.id}", f"/clients/{romashka.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "Куратор</span>: " + manager.full_name + " → —" in page, url
        assert "Согласие на рассылку</span>: нет → да" in page, url
        assert "<code>curator_id</code>" not in page


def test_the_card_shows_the_mailing_subscriptions(client, base, db_session):
    news = groups.create_group(
        db_session,
        name="Новости выставки",
        kind="common",
        category="mailing",
        actor=base["analyst"],
    )
    groups.add_to_group(db_session, news, [base["yolka"].id], actor=base["analyst"])
    db_session.commit()
    client.login("iao")
    page = client.get(f"/clients/{base['yolka'].id}").get_data(as_text=True)
    assert "подписки: «Новости выставки»" in page
    assert "согласия нет: в рассылки не включать" in page


def test_a_phone_extension_is_kept_shown_and_found(client, base, db_session):
    from erp_crm.core.text import display_phone

    contact = contacts.add_contact(
        db_session,
        base["romashka"],
        contacts.ContactData(full_name="Секретарь", phones=["8 (846) 207-11-44 доб. 305"]),
        actor=base["analyst"],
    )
    db_session.commit()
    assert contact.phones == ["+78462071144;ext=305"]
    assert display_phone(contact.phones[0]) == "+7 846 207-11-44 доб. 305"
    for q in (
        "8 846 207-11-44",
        "+7 (846) 2071144 доб. 305",
        "207-11-44",
        "207-11-44 доб. 305",
        "+78462071144;ext=305",
        "2071144 ext 305",
    ):
        assert _names(db_session, base["analyst"], q=q) == ["ООО «Ромашка»"], q
    assert _names(db_session, base["analyst"], q="+7 846 207-11-44 доб. 306") == []
    assert _names(db_session, base["analyst"], q="207-11-44 доб. 30") == []
    client.login("iao")
    card = client.get(f"/clients/{base['romashka'].id}").get_data(as_text=True)
    assert 'href="tel:+78462071144;ext=305"' in card and "доб. 305" in card
    form = client.get(f"/clients/contacts/{contact.id}/edit").get_data(as_text=True)
    assert "+7 846 207-11-44 доб. 305" in form


def test_values_no_database_can_store_get_a_message_not_a_500(
    client, base, db_session, make_user, api_token, backend, monkeypatch
):
    client.login("iao")
    # a NUL in any web form is refused by the form itself (AppForm)
    response = client.submit("/clients/filters", {"name": "a\x00b", "query": "q=x"})
    assert response.status_code == 302
    assert "нулевой символ" in client.get("/clients/").get_data(as_text=True)
    # a huge id in the merge page's or the API's duplicate_id: not found
    romashka = base["romashka"]
    page = client.get(f"/clients/{romashka.id}/merge?duplicate_id=99999999999999999999")
    assert page.status_code == 404 and "не найден" in page.get_data(as_text=True)
    make_user("head_of_sales", username="merger")
    headers = api_token("merger")
    merge = client.post(
        f"/api/v1/clients/{romashka.id}/merge",
        json={"duplicate_id": 99999999999999999999},
        headers=headers,
    )
    assert (
        merge.status_code == 422
        and "не найден" in merge.get_json()["error"]["fields"]["duplicate_id"]
    )
    # a lone surrogate in JSON text
    bad = client.post("/api/v1/clients", json={"name": "\ud800"}, headers=headers)
    assert bad.status_code == 400 and "недопустимый символ" in bad.get_json()["error"]["message"]
    # a value refused only when the request commits: a 400 with a message, nothing written
    from flask_wtf import FlaskForm

    from erp_crm.clients.models import SavedFilter
    from erp_crm.core.forms import AppForm

    monkeypatch.setattr(AppForm, "validate", FlaskForm.validate)
    late = client.submit("/clients/filters", {"name": "Поздний", "query": "q=\x00"})
    saved = db_session.scalar(select(SavedFilter).where(SavedFilter.name == "Поздний"))
    if backend == "postgresql":
        assert late.status_code == 400 and saved is None
        assert "не может быть сохранено" in late.get_data(as_text=True)
        assert late.headers["X-Frame-Options"] == "DENY"
    else:
        assert late.status_code == 302 and saved is not None  # SQLite stores a NUL


def test_unreadable_filter_values_are_named_not_silently_dropped(
    client, base, make_user, api_token
):
    client.login("iao")
    page = client.get("/clients/?curator_id=abc&project_outcome=zzz").get_data(as_text=True)
    assert "Не учтены фильтры с неверным значением: «Куратор», «Участие в проекте»." in page
    assert "Не учтены" not in client.get("/clients/?curator_id=0").get_data(as_text=True)
    make_user("analyst", username="api_flt")
    response = client.get(
        "/api/v1/clients?group_id=99999999999999999999", headers=api_token("api_flt")
    )
    assert response.status_code == 422 and "Группа" in response.get_json()["error"]["message"]


def test_a_huge_id_in_a_link_is_not_found(client, base):
    client.login("iao")
    assert client.get("/clients/999999999999999999999").status_code == 404
    assert client.get("/clients/2147483648").status_code == 404


def test_list_page_searches_and_paginates(client, base, db_session, analyst):
    for n in range(60):
        new_client(db_session, analyst, name=f"Строймаш {n:02d}", city="Самара")
    db_session.commit()
    client.login("iao")
    page = client.get("/clients/?q=строймаш").get_data(as_text=True)
    assert "Строймаш 00" in page and "Всего: 60" in page and "Строймаш 59" not in page
    page2 = client.get("/clients/?q=строймаш&page=2").get_data(as_text=True)
    assert "Строймаш 59" in page2
    found = client.get("/clients/?q=7707083893").get_data(as_text=True)
    assert f'<a href="/clients/{base["romashka"].id}">ООО «Ромашка»</a>' in found


# --- groups -------------------------------------------------------------------------------------


def test_bulk_add_and_remove_from_a_common_group(client, base, db_session):
    group = groups.create_group(
        db_session, name="Рассылка", kind="common", category="mailing", actor=base["analyst"]
    )
    db_session.commit()
    client.login("iao")
    ids = [str(base["romashka"].id), str(base["yolka"].id)]
    response = client.submit(
        "/clients/bulk-groups", {"action": "add", "group_id": str(group.id), "client_ids": ids}
    )
    assert response.status_code == 302
    assert sorted(_names(db_session, base["analyst"], group_id=str(group.id))) == sorted(
        ["ООО «Ромашка»", "АО «Ёлка-Трейд»"]
    )
    client.submit(
        "/clients/bulk-groups", {"action": "add", "group_id": str(group.id), "client_ids": ids}
    )
    client.submit(
        "/clients/bulk-groups",
        {"action": "remove", "group_id": str(group.id), "client_ids": ids[:1]},
    )
    assert _names(db_session, base["analyst"], group_id=str(group.id)) == ["АО «Ёлка-Трейд»"]


def test_managers_cannot_fill_common_groups_but_keep_personal_ones(
    client, base, db_session, make_user
):
    manager = base["manager"]
    common = groups.create_group(
        db_session, name="Общая", kind="common", category="other", actor=base["analyst"]
    )
    personal = groups.create_group(
        db_session, name="Мои горячие", kind="personal", category="other", actor=manager
    )
    db_session.commit()
    with pytest.raises(PermissionDenied):
        groups.add_to_group(db_session, common, [base["romashka"].id], actor=manager)
    assert (
        groups.add_to_group(
            db_session, personal, [base["romashka"].id, base["yolka"].id], actor=manager
        )
        == 2
    )
    stranger = make_user("sales_manager", username="mgr_z")
    assert personal.id not in [g.id for g in groups.visible_groups(db_session, stranger)]
    client.login("mgr_z")
    assert client.get(f"/groups/{personal.id}/edit").status_code == 404


# --- card and timeline ----------------------------------------------------------------------------


def test_card_shows_requisites_contacts_groups_and_timeline(client, base, db_session):
    client.login("iao")
    page = client.get(f"/clients/{base['yolka'].id}").get_data(as_text=True)
    assert "7736207543" in page and "Петров Пётр" in page
    assert "+7 927 555-12-34" in page and "tel:+79275551234" in page and "petrov@elka.ru" in page
    assert "Контрагент создан" in page and "Добавлено контактное лицо" in page


# --- API ----------------------------------------------------------------------------------------


def test_api_clients_round_trip(client, make_user, api_token, db_session):
    make_user("sales_manager", username="api_mgr")
    headers = api_token("api_mgr")
    response = client.post(
        "/api/v1/clients", json={**ROMASHKA, "inn": "1234567890"}, headers=headers
    )
    assert response.status_code == 422 and "inn" in response.get_json()["error"]["fields"]
    response = client.post("/api/v1/clients", json=ROMASHKA, headers=headers)
    assert response.status_code == 201
    created = response.get_json()
    assert created["curator_id"] == db_session.scalar(select(Client.curator_id))
    response = client.patch(
        f"/api/v1/clients/{created['id']}", json={"readiness": 3}, headers=headers
    )
    assert response.status_code == 200 and response.get_json()["relationship_type"] == "potential"
    response = client.post(
        f"/api/v1/clients/{created['id']}/contacts",
        json={"full_name": "Иванов И.", "phones": ["89271234567"], "emails": ["i@r.ru"]},
        headers=headers,
    )
    assert response.status_code == 201 and response.get_json()["phones"] == ["+79271234567"]
    found = client.get("/api/v1/clients?q=927123", headers=headers).get_json()
    assert [c["id"] for c in found["items"]] == [created["id"]] and found["total"] == 1
    contacts = client.get(f"/api/v1/clients/{created['id']}/contacts", headers=headers).get_json()
    assert contacts["items"][0]["full_name"] == "Иванов И."
    # participation in our project, as on the list page
    from erp_crm.auth.models import User
    from erp_crm.deals import services as deal_services
    from tests.fixtures.deals import make_project

    project = make_project(db_session)
    deal_services.create_deal(
        db_session,
        deal_services.DealData(client_id=created["id"], project_id=project.id),
        actor=db_session.scalar(select(User).where(User.username == "api_mgr")),
    )
    db_session.commit()
    found = client.get(f"/api/v1/clients?project_id={project.id}", headers=headers).get_json()
    assert [c["id"] for c in found["items"]] == [created["id"]]
    none = client.get(
        f"/api/v1/clients?project_id={project.id}&project_outcome=won", headers=headers
    ).get_json()
    assert none["items"] == []


def test_api_patch_refuses_null_for_required_fields_and_unknown_fields(
    client, make_user, api_token, db_session
):
    make_user("analyst", username="api_iao")
    headers = api_token("api_iao")
    created = client.post(
        "/api/v1/clients",
        json={**ROMASHKA, "readiness": 3, "mailing_consent": True},
        headers=headers,
    ).get_json()
    url = f"/api/v1/clients/{created['id']}"
    for body in ({"readiness": None}, {"mailing_consent": None}, {"kind": None}):
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == 422, body
        assert "не может быть пустым" in next(iter(response.get_json()["error"]["fields"].values()))
    typo = client.patch(url, json={"redion": "Самарская область"}, headers=headers)
    assert typo.status_code == 422 and "redion" in typo.get_json()["error"]["fields"]
    db_session.expire_all()
    stored = db_session.get(Client, created["id"])
    assert (stored.readiness, stored.mailing_consent) == (3, True)
    # what GET answered may go back as is: read-only fields are ignored, null clears a КПП
    echoed = {**client.get(url, headers=headers).get_json(), "kpp": None}
    response = client.patch(url, json=echoed, headers=headers)
    assert response.status_code == 200 and response.get_json()["kpp"] is None


def test_api_contact_with_another_clients_phone_is_saved_with_a_warning(
    client, base, api_token, make_user
):
    make_user("analyst", username="api_warn")
    headers = api_token("api_warn")
    response = client.post(
        f"/api/v1/clients/{base['romashka'].id}/contacts",
        json={"full_name": "Сидоров Иван", "phones": ["8 927 555-12-34"]},
        headers=headers,
    )
    assert response.status_code == 201
    [warning] = response.get_json()["warnings"]
    assert "Ёлка-Трейд" in warning
    alone = client.post(
        f"/api/v1/clients/{base['romashka'].id}/contacts",
        json={"full_name": "Новый Человек", "phones": ["8 927 000-00-01"]},
        headers=headers,
    )
    assert alone.status_code == 201 and "warnings" not in alone.get_json()


def test_api_manager_cannot_patch_someone_elses_client(client, make_user, api_token, db_session):
    owner = make_user("sales_manager", username="api_owner")
    make_user("sales_manager", username="api_other")
    theirs = new_client(db_session, owner, name="Чужой")
    db_session.commit()
    response = client.patch(
        f"/api/v1/clients/{theirs.id}", json={"name": "Моё"}, headers=api_token("api_other")
    )
    assert response.status_code == 403
