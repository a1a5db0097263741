"""Our organizations: requisites validated with checksums, nothing saved on a mistake, audited."""

import pytest
from sqlalchemy import select

from erp_crm.audit.models import AuditEntry
from erp_crm.demo import DEMO_ORGANIZATION
from erp_crm.organizations import services
from erp_crm.organizations.models import Organization
from tests.fixtures.organizations import VALID


@pytest.fixture
def admin(client, make_user):
    user = make_user("admin", username="orgadmin")
    client.login("orgadmin")
    return user


def test_admin_adds_an_organization_through_the_form(client, admin, db_session):
    response = client.submit("/organizations/new", VALID)
    assert response.status_code == 302
    org = db_session.scalar(select(Organization).where(Organization.inn == "7707083893"))
    assert org.short_name == "ООО «Ромашка & Ко»"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ромашка &amp; Ко" in page
    assert "40702810938000012345" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("inn", "7707083894", "Неверный ИНН"),
        ("kpp", "77360100", "КПП: 9 знаков"),
        ("kpp", "", "Для организации укажите КПП"),
        ("ogrn", "1027700132194", "Неверный ОГРН"),
        ("bik", "04452522", "БИК состоит из 9 цифр"),
        ("settlement_account", "40702810938000012346", "не сходится контрольный ключ"),
        ("correspondent_account", "30101810400000000226", "не сходится контрольный ключ"),
        ("vat_rate", "5", "Для выбранного режима допустимо"),
        ("director_name", "", "Укажите ФИО руководителя"),
        ("payment_days", "0", "Срок оплаты — целое число банковских дней от 1 до 60"),
        ("payment_days", "пять", "Срок оплаты — целое число банковских дней от 1 до 60"),
    ],
)
def test_a_wrong_requisite_is_explained_in_place_and_nothing_is_saved(
    client, admin, count_rows, db_session, field, value, message
):
    response = client.submit("/organizations/new", {**VALID, field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count_rows("organizations") == 0
    assert not db_session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "organizations")
    ).all()


def test_sole_trader_organization_has_no_kpp_and_a_15_digit_ogrnip(client, admin, db_session):
    data = {
        **VALID,
        "inn": "500100732259",
        "kpp": "",
        "ogrn": "304500116000157",
        "vat_regime": "exempt",
        "vat_rate": "none",
    }
    response = client.submit("/organizations/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert (
        db_session.scalar(select(Organization.kpp).where(Organization.inn == "500100732259"))
        is None
    )


def test_second_organization_with_the_same_inn_is_refused(client, admin, count_rows):
    assert client.submit("/organizations/new", VALID).status_code == 302
    response = client.submit("/organizations/new", VALID)
    assert response.status_code == 422
    assert "Организация с таким ИНН уже есть" in response.get_data(as_text=True)
    assert count_rows("organizations") == 1


def test_editing_writes_old_and_new_values_to_the_history(client, admin, db_session):
    client.submit("/organizations/new", VALID)
    org = db_session.scalar(select(Organization))
    response = client.submit(
        f"/organizations/{org.id}/edit", {**VALID, "director_name": "Сидоров С. С."}
    )
    assert response.status_code == 302
    entries = db_session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type == "organizations").order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].changes == {"director_name": ["Иванов Иван Иванович", "Сидоров С. С."]}
    assert entries[1].actor_id == admin.id
    page = client.get(f"/audit/organizations/{org.id}").get_data(as_text=True)
    assert "Иванов Иван Иванович → Сидоров С. С." in page


def test_the_only_active_organization_cannot_be_archived(client, admin, db_session):
    client.submit("/organizations/new", VALID)
    org = db_session.scalar(select(Organization))
    response = client.submit(
        f"/organizations/{org.id}/archive", token_page=f"/organizations/{org.id}"
    )
    assert response.status_code in (302, 409)
    db_session.refresh(org)
    assert org.is_active


def test_archiving_keeps_the_record(client, admin, db_session):
    services.create_organization(db_session, services.OrganizationData(**{**VALID}), actor=admin)
    second = services.create_organization(db_session, DEMO_ORGANIZATION, actor=admin)
    db_session.commit()
    assert client.submit(f"/organizations/{second.id}/archive").status_code == 302
    db_session.refresh(second)
    assert second.is_active is False
    assert db_session.get(Organization, second.id) is not None


def test_documents_need_an_active_organization(db_session):
    from erp_crm.errors import Conflict

    with pytest.raises(Conflict, match="Не заведено ни одной"):
        services.default_organization(db_session)


def test_sales_manager_sees_organizations_but_cannot_change_them(client, make_user):
    make_user("sales_manager", username="seller")
    client.login("seller")
    assert client.get("/organizations/").status_code == 200
    assert client.get("/organizations/new").status_code == 403
    assert client.submit("/organizations/new", VALID).status_code == 403
