"""Bad input to the client base is refused with a Russian message and changes nothing: wrong
JSON types, over-long values, NUL characters, curators who cannot curate, impossible birthdays,
WTForms' own messages, and likely duplicates created through the API."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from erp_crm.clients import competitors, contacts, services
from erp_crm.clients.models import Client, CompetitorExhibition, ContactPerson
from erp_crm.errors import ValidationError

ROMASHKA = {
    "name": "ООО «Ромашка»",
    "inn": "7707083893",
    "kpp": "773601001",
    "city": "Самара",
    "region": "Самарская область",
}
ELKA = {"name": "ООО «Ёлка»", "inn": "7736207543", "kpp": "773601002", "city": "Тольятти"}
TABLES = ("clients", "contact_persons", "contact_channels", "competitor_exhibitions", "audit_log")


@pytest.fixture
def analyst(make_user):
    return make_user("analyst", username="iao_v")


@pytest.fixture
def headers(analyst, api_token):
    return api_token("iao_v")


@pytest.fixture
def romashka(db_session, analyst):
    client = services.create_client(db_session, services.ClientData(**ROMASHKA), actor=analyst)
    db_session.commit()
    return client


@pytest.fixture
def unchanged(db_session, count_rows):
    """Call once before the bad request and once after: the row counts and every watched
    record's fields must be the same."""

    def state(*records):
        db_session.expire_all()
        fields = []
        for record in records:
            fresh = db_session.get(type(record), record.id)
            fields.append(
                services.ClientData.from_model(fresh).__dict__
                if isinstance(fresh, Client)
                else {c.key: getattr(fresh, c.key) for c in type(fresh).__table__.columns}
            )
        return {table: count_rows(table) for table in TABLES}, fields

    return state


def field_error(response, field: str) -> str:
    body = response.get_json()
    assert response.status_code == 422, body
    assert field in body["error"]["fields"], body
    return body["error"]["fields"][field]


# --- 1. bad JSON types on contacts: 422, not 500 ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"full_name": "A", "phones": 123}, "phones", "ожидается список"),
        ({"full_name": "A", "phones": [123]}, "phones", "ожидается список строк"),
        ({"full_name": "A", "emails": {"a": 1}}, "emails", "ожидается список"),
        ({"full_name": "A", "birthday": 12345}, "birthday", "ожидается строка"),
        ({"full_name": "A", "birthday": ["1990-01-01"]}, "birthday", "ожидается строка"),
        ({"full_name": "A", "birthday": "01.01.1990"}, "birthday", "ГГГГ-ММ-ДД"),
        ({"full_name": ["A"]}, "full_name", "ожидается строка"),
        ({"full_name": "A", "curator_id": True}, "curator_id", "ожидается целое число"),
    ],
)
def test_api_contact_with_wrong_types_is_a_422_naming_the_field(
    client, headers, romashka, unchanged, body, field, message
):
    before = unchanged(romashka)
    response = client.post(f"/api/v1/clients/{romashka.id}/contacts", json=body, headers=headers)
    assert message in field_error(response, field)
    assert response.get_json()["error"]["message"].startswith("Проверьте поля:")
    assert unchanged(romashka) == before


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"phones": 123}, "phones", "ожидается список строк"),
        ({"emails": [None]}, "emails", "ожидается список строк"),
        ({"birthday": 12345}, "birthday", "ГГГГ-ММ-ДД"),
        ({"birthday": ["1990-01-01"]}, "birthday", "ГГГГ-ММ-ДД"),
        ({"full_name": ["A"]}, "full_name", "Ожидается текст"),
        ({"curator_id": True}, "curator_id", "Неверный куратор"),
        ({"curator_id": 2**40}, "curator_id", "Неверный куратор"),
    ],
)
def test_the_contact_service_refuses_wrong_types_itself(
    db_session, analyst, romashka, values, field, message
):
    """The page, the importer and the lead conversion call the service without the API's check."""
    data = contacts.ContactData.from_mapping({"full_name": "A", **values})
    with pytest.raises(ValidationError) as err:
        contacts.add_contact(db_session, romashka, data, actor=analyst)
    assert message in err.value.fields[field]


# --- 2. over-long values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("name", "x" * 400, Client.__table__.c.name.type.length),
        ("region", "x" * 400, Client.__table__.c.region.type.length),
        ("external_id", "x" * 400, Client.__table__.c.external_id.type.length),
        ("website", "x" * 400, Client.__table__.c.website.type.length),
        ("website", "x" * 297 + ".ru", Client.__table__.c.website.type.length),  # + https://
        ("full_name", "x" * 501, Client.__table__.c.full_name.type.length),
    ],
)
def test_api_patch_with_an_over_long_value_names_the_limit(
    client, headers, romashka, unchanged, field, value, limit
):
    before = unchanged(romashka)
    response = client.patch(f"/api/v1/clients/{romashka.id}", json={field: value}, headers=headers)
    assert field_error(response, field) == f"Слишком длинное значение: не больше {limit} символов."
    assert services.CLIENT_LABELS[field] in response.get_json()["error"]["message"]
    assert unchanged(romashka) == before


def test_api_create_refuses_a_name_one_past_the_limit_and_takes_one_at_it(
    client, headers, unchanged
):
    before = unchanged()
    response = client.post("/api/v1/clients", json={"name": "N" * 301}, headers=headers)
    assert field_error(response, "name") == "Слишком длинное значение: не больше 300 символов."
    assert unchanged() == before
    response = client.post("/api/v1/clients", json={"name": "N" * 300}, headers=headers)
    assert response.status_code == 201 and len(response.get_json()["name"]) == 300


@pytest.mark.parametrize(
    ("body", "field", "limit"),
    [
        ({"full_name": "Я" * 400}, "full_name", 300),
        ({"full_name": "Иванов", "position": "Д" * 300}, "position", 200),
    ],
)
def test_api_contact_with_over_long_values(
    client, headers, romashka, unchanged, body, field, limit
):
    before = unchanged(romashka)
    response = client.post(f"/api/v1/clients/{romashka.id}/contacts", json=body, headers=headers)
    assert field_error(response, field) == f"Слишком длинное значение: не больше {limit} символов."
    assert unchanged(romashka) == before


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [("name", "В" * 400, 300), ("city", "Г" * 200, 120), ("organizer", "О" * 301, 300)],
)
def test_competitor_exhibition_form_refuses_over_long_values(
    client, analyst, unchanged, field, value, limit
):
    client.login("iao_v")
    before = unchanged()
    response = client.submit("/clients/competitor-exhibitions", {"name": "Выставка", field: value})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"Слишком длинное значение: не больше {limit} символов." in page
    assert unchanged() == before


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "В" * 400}, "name"),
        ({"name": "Выставка", "city": "Г" * 200}, "city"),
        ({"name": "Выставка", "organizer": "Орг\x00"}, "organizer"),
    ],
)
def test_the_exhibition_service_checks_lengths_and_nul_itself(db_session, analyst, values, field):
    with pytest.raises(ValidationError) as err:
        competitors.add_competitor_exhibition(db_session, actor=analyst, **values)
    assert field in err.value.fields
    assert db_session.scalar(select(CompetitorExhibition.id)) is None


def test_form_length_limits_come_from_the_columns():
    from erp_crm.clients.forms import ClientForm, CompetitorExhibitionForm, ContactForm

    def limit(form, name):
        (length,) = [v for v in getattr(form, name).kwargs["validators"] if hasattr(v, "max")]
        return length.max

    assert limit(ClientForm, "name") == Client.__table__.c.name.type.length
    assert limit(ClientForm, "external_id") == Client.__table__.c.external_id.type.length
    assert limit(ContactForm, "position") == ContactPerson.__table__.c.position.type.length
    assert limit(CompetitorExhibitionForm, "city") == (
        CompetitorExhibition.__table__.c.city.type.length
    )


# --- 3. NUL characters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/clients", {"name": "Ро\x00машка"}, "name"),
        ("patch", "/api/v1/clients/{id}", {"city": "Сам\x00ара"}, "city"),
        ("patch", "/api/v1/clients/{id}", {"notes": "\x00"}, "notes"),
        ("patch", "/api/v1/clients/{id}", {"inn": "7707\x00083893"}, "inn"),
        ("post", "/api/v1/clients/{id}/contacts", {"full_name": "Ив\x00анов"}, "full_name"),
        ("post", "/api/v1/clients/{id}/contacts", {"full_name": "A", "notes": "\x00"}, "notes"),
        (
            "post",
            "/api/v1/clients/{id}/contacts",
            {"full_name": "A", "phones": ["+7 927 123\x00 45 67"]},
            "phones",
        ),
        (
            "post",
            "/api/v1/clients/{id}/contacts",
            {"full_name": "A", "emails": ["a\x00@b.ru"]},
            "emails",
        ),
    ],
)
def test_api_refuses_nul_in_any_text_field(
    client, headers, romashka, unchanged, method, path, body, field
):
    before = unchanged(romashka)
    response = getattr(client, method)(path.format(id=romashka.id), json=body, headers=headers)
    assert "Недопустимый символ в поле" in field_error(response, field)
    assert unchanged(romashka) == before


def test_web_client_form_refuses_nul(client, analyst, unchanged):
    client.login("iao_v")
    before = unchanged()
    response = client.submit(
        "/clients/new",
        {"name": "Ро\x00машка", "kind": "legal", "readiness": "0", "curator_id": ""},
    )
    assert response.status_code == 422
    assert "Недопустимый символ в поле «Наименование»" in response.get_data(as_text=True)
    assert unchanged() == before


def test_web_contact_form_refuses_nul(client, analyst, romashka, unchanged):
    client.login("iao_v")
    before = unchanged(romashka)
    response = client.submit(
        f"/clients/{romashka.id}/contacts/new",
        {"full_name": "Иванов", "position": "Дирек\x00тор", "curator_id": ""},
    )
    assert response.status_code == 422
    assert "Недопустимый символ в поле «Должность»" in response.get_data(as_text=True)
    assert unchanged(romashka) == before


# --- 4. curators who cannot curate --------------------------------------------------------------


def test_api_refuses_a_curator_whose_role_does_not_curate(
    client, headers, romashka, make_user, unchanged
):
    accountant = make_user("accountant", username="buh_v")
    before = unchanged(romashka)
    response = client.patch(
        f"/api/v1/clients/{romashka.id}", json={"curator_id": accountant.id}, headers=headers
    )
    assert field_error(response, "curator_id").startswith(
        "Куратором может быть только активный менеджер"
    )
    assert unchanged(romashka) == before


@pytest.mark.parametrize("value", [True, False, "5", 1.5])
def test_api_curator_id_must_be_a_real_integer(client, headers, romashka, unchanged, value):
    before = unchanged(romashka)
    response = client.patch(
        f"/api/v1/clients/{romashka.id}", json={"curator_id": value}, headers=headers
    )
    assert "Куратор" in field_error(response, "curator_id")
    assert unchanged(romashka) == before


def test_api_refuses_an_inactive_or_unknown_curator(
    client, headers, romashka, make_user, db_session, unchanged
):
    from erp_crm.auth import services as auth_services

    leaver = make_user("sales_manager", username="leaver_v")
    auth_services.set_active(db_session, leaver, False, actor=make_user("admin"))
    db_session.commit()
    before = unchanged(romashka)
    for user_id in (leaver.id, 2**31 - 1):
        response = client.patch(
            f"/api/v1/clients/{romashka.id}", json={"curator_id": user_id}, headers=headers
        )
        assert field_error(response, "curator_id") == "Куратор не найден или отключён."
    assert unchanged(romashka) == before


def test_a_manager_may_become_curator_through_the_api(client, headers, romashka, make_user):
    manager = make_user("sales_manager", username="mgr_v")
    response = client.patch(
        f"/api/v1/clients/{romashka.id}", json={"curator_id": manager.id}, headers=headers
    )
    assert response.status_code == 200 and response.get_json()["curator_id"] == manager.id


def test_the_services_apply_the_curator_rule(db_session, analyst, romashka, make_user):
    accountant = make_user("accountant", username="buh_v2")
    with pytest.raises(ValidationError) as err:
        services.create_client(
            db_session, services.ClientData(name="Бета", curator_id=accountant.id), actor=analyst
        )
    assert err.value.fields["curator_id"] == services.CURATOR_ROLE_MESSAGE
    with pytest.raises(ValidationError) as err:
        contacts.add_contact(
            db_session,
            romashka,
            contacts.ContactData(full_name="Иванов", curator_id=accountant.id),
            actor=analyst,
        )
    assert err.value.fields["curator_id"] == services.CURATOR_ROLE_MESSAGE


def test_a_curator_already_in_place_is_kept_when_other_fields_change(
    client, headers, romashka, make_user, db_session
):
    """A curator whose role changed later does not block editing the rest of the card."""
    accountant = make_user("accountant", username="buh_v3")
    db_session.execute(
        update(Client).where(Client.id == romashka.id).values(curator_id=accountant.id)
    )
    db_session.commit()
    response = client.patch(
        f"/api/v1/clients/{romashka.id}", json={"region": "Самара и область"}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["curator_id"] == accountant.id


# --- 5. wrong JSON types coerced silently -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": {"a": 1}}, "name", "ожидается строка"),
        ({"name": ["A"]}, "name", "ожидается строка"),
        ({"inn": 7707083893}, "inn", "ожидается строка"),
        ({"mailing_consent": "maybe"}, "mailing_consent", "true или false"),
        ({"mailing_consent": "true"}, "mailing_consent", "true или false"),
        ({"mailing_consent": 1}, "mailing_consent", "true или false"),
        ({"readiness": True}, "readiness", "целое число"),
        ({"readiness": "3"}, "readiness", "целое число"),
        ({"readiness": 2.5}, "readiness", "целое число"),
        ({"kind": ["legal"]}, "kind", "ожидается строка"),
        ({"confirm_duplicates": "yes"}, "confirm_duplicates", "true или false"),
    ],
)
def test_api_patch_with_a_wrong_json_type_is_a_422(
    client, headers, romashka, unchanged, body, field, message
):
    before = unchanged(romashka)
    response = client.patch(f"/api/v1/clients/{romashka.id}", json=body, headers=headers)
    assert message in field_error(response, field)
    assert unchanged(romashka) == before


def test_api_takes_real_booleans_and_integers(client, headers, romashka):
    response = client.patch(
        f"/api/v1/clients/{romashka.id}",
        json={"mailing_consent": True, "readiness": 4, "notes": None},
        headers=headers,
    )
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["mailing_consent"] is True and body["readiness"] == 4


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": {"a": 1}}, "name"),
        ({"name": True}, "name"),
        ({"mailing_consent": "maybe"}, "mailing_consent"),
        ({"mailing_consent": 2}, "mailing_consent"),
        ({"readiness": True}, "readiness"),
        ({"readiness": "три"}, "readiness"),
        ({"curator_id": True}, "curator_id"),
        ({"kind": {"legal": 1}}, "kind"),
    ],
)
def test_the_client_service_refuses_wrong_types_itself(db_session, analyst, values, field):
    with pytest.raises(ValidationError) as err:
        services.create_client(
            db_session, services.ClientData(**{"name": "Бета", **values}), actor=analyst
        )
    assert field in err.value.fields


@pytest.mark.parametrize(
    ("raw", "expected"), [("да", True), ("Нет", False), ("1", True), ("", False), (None, False)]
)
def test_the_service_keeps_reading_a_forms_or_a_files_yes_and_no(
    db_session, analyst, raw, expected
):
    created = services.create_client(
        db_session,
        services.ClientData(name="Бета", mailing_consent=raw, readiness="3"),
        actor=analyst,
    )
    assert created.mailing_consent is expected and created.readiness == 3


# --- 6. birthdays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birthday", "message"),
    [
        ("2099-01-01", "Дата рождения не может быть в будущем."),
        ((dt.date.today() + dt.timedelta(days=1)).isoformat(), "не может быть в будущем"),
        ("1899-12-31", "Дата рождения не может быть раньше 1900 года."),
    ],
)
def test_api_refuses_impossible_birthdays(client, headers, romashka, unchanged, birthday, message):
    before = unchanged(romashka)
    response = client.post(
        f"/api/v1/clients/{romashka.id}/contacts",
        json={"full_name": "Иванов", "birthday": birthday},
        headers=headers,
    )
    assert message in field_error(response, "birthday")
    assert unchanged(romashka) == before


@pytest.mark.parametrize("birthday", ["1900-01-01", dt.date.today().isoformat()])
def test_birthdays_at_the_bounds_are_taken(client, headers, romashka, birthday):
    response = client.post(
        f"/api/v1/clients/{romashka.id}/contacts",
        json={"full_name": "Иванов", "birthday": birthday},
        headers=headers,
    )
    assert response.status_code == 201 and response.get_json()["birthday"] == birthday


def test_web_contact_form_refuses_a_future_birthday(client, analyst, romashka, unchanged):
    client.login("iao_v")
    before = unchanged(romashka)
    response = client.submit(
        f"/clients/{romashka.id}/contacts/new",
        {"full_name": "Иванов", "birthday": "2099-01-01", "curator_id": ""},
    )
    assert response.status_code == 422
    assert "Дата рождения не может быть в будущем." in response.get_data(as_text=True)
    assert unchanged(romashka) == before


def test_updating_a_contact_applies_the_same_rules(db_session, analyst, romashka):
    contact = contacts.add_contact(
        db_session, romashka, contacts.ContactData(full_name="Иванов"), actor=analyst
    )
    with pytest.raises(ValidationError) as err:
        contacts.update_contact(
            db_session,
            contact,
            contacts.ContactData(full_name="Иванов", birthday=dt.date(2099, 1, 1)),
            actor=analyst,
        )
    assert "в будущем" in err.value.fields["birthday"]


# --- 7. WTForms' own messages in Russian --------------------------------------------------------


def test_wtforms_messages_are_russian(client, analyst, romashka, unchanged):
    client.login("iao_v")
    before = unchanged(romashka)
    response = client.submit(
        f"/clients/{romashka.id}/contacts/new",
        {"full_name": "Иванов", "birthday": "не дата", "curator_id": "999999"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Неверное значение даты." in page and "Not a valid date value." not in page
    assert "Выберите значение из списка." in page and "Not a valid choice." not in page
    response = client.submit(
        "/clients/new", {"name": "Бета", "kind": "martian", "readiness": "9", "curator_id": ""}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Выберите значение из списка." in page and "Not a valid" not in page
    assert unchanged(romashka) == before


def test_the_base_form_translates_plurals_and_keeps_own_messages():
    from erp_crm.core.forms import RUSSIAN

    assert RUSSIAN.gettext("This field is required.") == "Обязательное поле."
    assert "50" not in RUSSIAN.ngettext(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        50,
    )
    assert RUSSIAN.ngettext(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
        1,
    ).startswith("«%(value)s»")


# --- 8. likely duplicates through the API -------------------------------------------------------


def test_api_create_with_the_same_inn_and_kpp_is_a_409_listing_the_duplicates(
    client, headers, romashka, unchanged
):
    before = unchanged(romashka)
    twin = {**ROMASHKA, "name": "Ромашка-Трейд", "city": "Казань"}
    response = client.post("/api/v1/clients", json=twin, headers=headers)
    body = response.get_json()
    assert response.status_code == 409, body
    assert "confirm_duplicates" in body["error"]["message"]
    (duplicate,) = body["error"]["duplicates"]
    assert duplicate["id"] == romashka.id and duplicate["name"] == romashka.name
    assert "тот же ИНН и КПП" in duplicate["reasons"]
    assert unchanged(romashka) == before
    response = client.post(
        "/api/v1/clients", json={**twin, "confirm_duplicates": True}, headers=headers
    )
    assert response.status_code == 201
    assert unchanged(romashka)[0]["clients"] == before[0]["clients"] + 1


def test_api_create_of_an_unrelated_client_needs_no_confirmation(client, headers, romashka):
    response = client.post("/api/v1/clients", json=ELKA, headers=headers)
    assert response.status_code == 201, response.get_json()


def test_api_patch_into_another_clients_requisites_is_a_409(
    client, headers, romashka, db_session, analyst, unchanged
):
    elka = services.create_client(db_session, services.ClientData(**ELKA), actor=analyst)
    db_session.commit()
    before = unchanged(romashka, elka)
    change = {"inn": ROMASHKA["inn"], "kpp": ROMASHKA["kpp"]}
    response = client.patch(f"/api/v1/clients/{elka.id}", json=change, headers=headers)
    body = response.get_json()
    assert response.status_code == 409, body
    assert [d["id"] for d in body["error"]["duplicates"]] == [romashka.id]
    assert unchanged(romashka, elka) == before
    response = client.patch(
        f"/api/v1/clients/{elka.id}", json={**change, "confirm_duplicates": True}, headers=headers
    )
    assert response.status_code == 200 and response.get_json()["inn"] == ROMASHKA["inn"]


def test_api_patch_that_keeps_the_requisites_is_not_asked_again(
    client, headers, romashka, db_session, analyst
):
    twin = services.create_client(
        db_session, services.ClientData(**{**ROMASHKA, "name": "Ромашка-2"}), actor=analyst
    )
    db_session.commit()
    response = client.patch(f"/api/v1/clients/{twin.id}", json={"readiness": 2}, headers=headers)
    assert response.status_code == 200, response.get_json()


def test_a_manager_gets_403_before_any_duplicate_check(
    client, make_user, api_token, romashka, unchanged
):
    make_user("sales_manager", username="mgr_v2")
    before = unchanged(romashka)
    response = client.patch(
        f"/api/v1/clients/{romashka.id}",
        json={"inn": ELKA["inn"], "kpp": ELKA["kpp"]},
        headers=api_token("mgr_v2"),
    )
    assert response.status_code == 403
    assert unchanged(romashka) == before


def test_openapi_documents_confirm_duplicates_and_length_limits(client):
    document = client.get("/api/v1/openapi.json").get_json()
    path = document["paths"]["/api/v1/clients"]["post"]
    properties = path["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert properties["confirm_duplicates"]["type"] == "boolean"
    assert "409" in properties["confirm_duplicates"]["description"]
    assert properties["name"]["maxLength"] == Client.__table__.c.name.type.length
    patch = document["paths"]["/api/v1/clients/{client_id}"]["patch"]
    schema = patch["requestBody"]["content"]["application/json"]["schema"]
    assert "confirm_duplicates" in schema["properties"]
    contact = document["paths"]["/api/v1/clients/{client_id}/contacts"]["post"]
    schema = contact["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["position"]["maxLength"] == 200


@settings(max_examples=300, deadline=None)
@given(st.from_regex(contacts._PLAIN_EMAIL, fullmatch=True))
def test_the_plain_email_shortcut_agrees_with_email_validator(address):
    from email_validator import EmailNotValidError, validate_email

    fast = contacts._plain_email(address)
    try:
        expected = validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    assert fast is None or fast == expected  # the shortcut never accepts what the library refuses


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("Anna.Petrova@Expo-Volga.RU", "anna.petrova@expo-volga.ru"),
        ("anna@expo", None),  # no dot in the domain
        ("anna@mail.local", None),  # a special-use domain
        ("анна@экспо.рф", "анна@экспо.рф"),  # Unicode: the library's own path
        ("anna..p@expo.ru", None),
        (" anna@expo.ru", None),
    ],
)
def test_emails_are_stored_normalized_or_refused(address, stored):
    assert contacts.normalize_email(address) == stored
