"""Duplicates of the client base: found by ИНН/КПП, name in the city, phone or e-mail; merged with
nothing lost and the duplicate kept; the merge undone from its audit record."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

import pytest
from sqlalchemy import func, select

from erp_crm import signals
from erp_crm.audit.models import AuditEntry
from erp_crm.clients import competitors, contacts, dedupe, groups, services
from erp_crm.clients.models import Client, CompetitorParticipation, client_group_members
from erp_crm.core.requisites import complete_inn
from erp_crm.db import set_actor
from erp_crm.errors import Conflict, PermissionDenied, ValidationError

INN = "7707083893"
KPP = "773601001"
OTHER_INN = "7736207543"


@pytest.fixture
def keeper(make_user):
    return make_user("analyst", username="dedupe_analyst")


def new_client(session, actor, name, **fields) -> Client:
    return services.create_client(session, services.ClientData(name=name, **fields), actor=actor)


def add_contact(session, actor, client, name="Иванов Иван", phones=(), emails=()):
    return contacts.add_contact(
        session,
        client,
        contacts.ContactData(full_name=name, phones=list(phones), emails=list(emails)),
        actor=actor,
    )


def pair_of(session, a: Client, b: Client, min_score: int = 0) -> dedupe.DuplicatePair | None:
    wanted = tuple(sorted((a.id, b.id)))
    pairs = dedupe.candidate_pairs(session, limit=500, offset=0, min_score=min_score).items
    return next((p for p in pairs if p.client_ids == wanted), None)


def audit_rows(session, client: Client, action: str) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity_type == "clients",
                AuditEntry.entity_id == client.id,
                AuditEntry.action == action,
            )
        )
    )


# --- finding ------------------------------------------------------------------------------------


def test_inn_twins_score_100_and_a_branch_with_another_kpp_scores_lower(db_session, keeper):
    first = new_client(db_session, keeper, "ООО «Вектор»", inn=INN, kpp=KPP, city="Самара")
    twin = new_client(db_session, keeper, "Вектор-Поволжье", inn=INN, kpp=KPP, city="Тольятти")
    branch = new_client(db_session, keeper, "Вектор, филиал", inn=INN, kpp="773602001")
    new_client(db_session, keeper, "ООО «Другая»", inn=OTHER_INN, kpp=KPP)

    found = dedupe.likely_duplicates(
        db_session, name="Новый клиент", city=None, inn="77070 83893", kpp=KPP
    )
    by_id = {c.id: c for c in found}
    assert set(by_id) == {first.id, twin.id, branch.id}
    assert by_id[first.id].score == by_id[twin.id].score == 100
    assert by_id[first.id].reasons == ["тот же ИНН и КПП"]
    assert by_id[branch.id].reasons == ["тот же ИНН, другой КПП"]
    assert by_id[branch.id].score < dedupe.DEFAULT_MIN_SCORE
    assert found[-1].id == branch.id

    exact = pair_of(db_session, first, twin)
    assert exact.score == 100 and exact.reasons == ["тот же ИНН и КПП"]
    assert pair_of(db_session, first, branch, min_score=dedupe.DEFAULT_MIN_SCORE) is None
    assert pair_of(db_session, first, branch).reasons == ["тот же ИНН, другой КПП"]


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        ('ООО "Ромашка"', "Ромашка ООО"),
        ("Ёлка", "Елка"),
        ("АО «Техно-Сервис Плюс»", "Техносервис плюс"),
        ("ООО «Волгатрансстрой»", "Волготрансстрой"),
    ],
)
def test_near_identical_names_in_the_same_city_are_found(db_session, keeper, stored, typed):
    same_city = new_client(db_session, keeper, stored, city="Самара")
    elsewhere = new_client(db_session, keeper, stored, city="Казань")
    typed_here = new_client(db_session, keeper, typed, city=" САМАРА ")

    found = dedupe.likely_duplicates(
        db_session, name=typed, city="самара", inn=None, kpp=None, exclude_id=typed_here.id
    )
    assert [c.id for c in found] == [same_city.id]
    assert found[0].score >= 79
    assert "в том же городе" in found[0].reasons[0]

    assert pair_of(db_session, same_city, typed_here) is not None
    assert pair_of(db_session, elsewhere, typed_here) is None
    assert pair_of(db_session, elsewhere, same_city) is None


def test_different_names_numbers_and_cities_are_not_paired(db_session, keeper):
    plant_1 = new_client(db_session, keeper, "Завод № 1", city="Самара")
    plant_2 = new_client(db_session, keeper, "Завод № 2", city="Самара")
    alpha = new_client(db_session, keeper, "Альфа", city="Самара")
    alpha_bank = new_client(db_session, keeper, "Альфа-Банк", city="Самара")
    no_city = new_client(db_session, keeper, "Альфа")
    assert pair_of(db_session, plant_1, plant_2) is None
    assert pair_of(db_session, alpha, alpha_bank) is None
    assert pair_of(db_session, alpha, no_city) is None
    assert (
        dedupe.likely_duplicates(db_session, name="Завод № 3", city="Самара", inn=None, kpp=None)
        == []
    )


def test_a_similar_name_with_another_inn_is_a_weak_signal(db_session, keeper):
    stored = new_client(db_session, keeper, "ООО «Ромашка»", city="Самара", inn=INN, kpp=KPP)
    other = new_client(db_session, keeper, "Ромашка ООО", city="Самара", inn=OTHER_INN, kpp=KPP)
    pair = pair_of(db_session, stored, other)
    assert pair.reasons[-1] == "но ИНН разные"
    assert pair.score < dedupe.DEFAULT_MIN_SCORE


def test_the_same_phone_or_email_of_a_contact_is_found(db_session, keeper):
    first = new_client(db_session, keeper, "ООО «Первая»", city="Самара")
    second = new_client(db_session, keeper, "ООО «Совсем другая»", city="Москва")
    third = new_client(db_session, keeper, "ИП Третьяков", city="Пермь")
    add_contact(db_session, keeper, first, phones=["+7 927 123-45-67"], emails=["Info@Firm.ru"])
    assert pair_of(db_session, first, second) is None  # computed (and cached) before the twin
    add_contact(db_session, keeper, second, phones=["8 (927) 123-45-67"])
    add_contact(db_session, keeper, third, "Пётр", emails=["info@firm.ru"])

    phone_pair = pair_of(db_session, first, second)
    assert phone_pair.score == dedupe.SCORE_CHANNEL
    assert phone_pair.reasons == ["тот же телефон контакта: +7 927 123-45-67"]
    assert pair_of(db_session, first, third).reasons == ["тот же e-mail контакта: info@firm.ru"]
    assert pair_of(db_session, second, third) is None

    found = dedupe.likely_duplicates(
        db_session,
        name="Новая",
        city="Уфа",
        inn=None,
        kpp=None,
        phones=["89271234567", "не телефон"],
        emails=[" INFO@firm.ru "],
    )
    assert {c.id for c in found} == {first.id, second.id, third.id}
    assert found[0].id == first.id  # both the phone and the e-mail
    assert found[0].score == dedupe.SCORE_CHANNEL + dedupe.BONUS_PER_SIGNAL


def test_a_phone_shared_by_many_clients_is_not_a_signal_for_the_page(db_session, keeper):
    clients = [
        new_client(db_session, keeper, f"Арендатор {chr(0x410 + i) * 3}", city="Самара")
        for i in range(dedupe.MAX_CLIENTS_PER_CHANNEL + 1)
    ]
    for c in clients:
        add_contact(db_session, keeper, c, phones=["+7 846 200-00-00"])
    assert pair_of(db_session, clients[0], clients[1]) is None


def test_merged_clients_are_never_candidates(db_session, keeper):
    survivor = new_client(db_session, keeper, "ООО «Ромашка»", city="Самара", inn=INN, kpp=KPP)
    duplicate = new_client(db_session, keeper, "Ромашка ООО", city="Самара", inn=INN, kpp=KPP)
    assert pair_of(db_session, survivor, duplicate).score == 100
    dedupe.merge_clients(db_session, survivor, duplicate, actor=keeper)
    assert pair_of(db_session, survivor, duplicate) is None
    found = dedupe.likely_duplicates(db_session, name="Ромашка", city="Самара", inn=INN, kpp=KPP)
    assert [c.id for c in found] == [survivor.id]


def test_candidate_pairs_pages_through_the_sorted_pairs(db_session, keeper):
    for i in range(3):
        inn = complete_inn(f"77070{i}389")
        new_client(db_session, keeper, f"Пара {i} А", inn=inn, kpp=KPP)
        new_client(db_session, keeper, f"Пара {i} Б", inn=inn, kpp=KPP)
    first = dedupe.candidate_pairs(db_session, limit=2, offset=0, min_score=90)
    rest = dedupe.candidate_pairs(db_session, limit=2, offset=2, min_score=90)
    assert first.total == rest.total == 3
    assert len(first.items) == 2 and len(rest.items) == 1
    assert all(p.first is not None and p.second is not None for p in first.items + rest.items)


# --- merging ------------------------------------------------------------------------------------


@pytest.fixture
def pair(db_session, keeper):
    """A survivor with a name and ИНН; a duplicate with city, site, contacts, groups, history."""
    survivor = new_client(db_session, keeper, "ООО «Ромашка»", inn=INN, kpp=KPP, notes="Основная")
    duplicate = new_client(
        db_session,
        keeper,
        "Ромашка ООО",
        full_name="Общество с ограниченной ответственностью «Ромашка»",
        inn=INN,
        kpp=KPP,
        city="Самара",
        website="romashka.example",
        notes="Из дубля",
        readiness=3,
    )
    contacts = [
        add_contact(db_session, keeper, duplicate, "Иванов Иван", phones=["+7 927 123-45-67"]),
        add_contact(db_session, keeper, duplicate, "Петрова Анна", emails=["anna@romashka.ru"]),
    ]
    shared = groups.create_group(db_session, name="Самара", kind="common", actor=keeper)
    only_dup = groups.create_group(db_session, name="Рассылка", kind="common", actor=keeper)
    groups.add_to_group(db_session, shared, [survivor.id, duplicate.id], actor=keeper)
    groups.add_to_group(db_session, only_dup, [duplicate.id], actor=keeper)
    expo = competitors.add_competitor_exhibition(db_session, "Иннопром", actor=keeper)
    competitors.add_competitor_participation(db_session, survivor, expo.id, 2024, actor=keeper)
    kept = competitors.add_competitor_participation(
        db_session, duplicate, expo.id, 2024, actor=keeper
    )
    moved = competitors.add_competitor_participation(
        db_session, duplicate, expo.id, 2025, actor=keeper
    )
    db_session.flush()
    return {
        "survivor": survivor,
        "duplicate": duplicate,
        "contacts": contacts,
        "shared": shared,
        "only_dup": only_dup,
        "kept": kept,
        "moved": moved,
    }


def memberships(session, client: Client) -> list[int]:
    return sorted(
        session.scalars(
            select(client_group_members.c.group_id).where(
                client_group_members.c.client_id == client.id
            )
        )
    )


def participations(session, client: Client) -> list[tuple[int, int]]:
    rows = session.execute(
        select(CompetitorParticipation.id, CompetitorParticipation.year).where(
            CompetitorParticipation.client_id == client.id
        )
    )
    return sorted(tuple(r) for r in rows)


def test_merge_moves_everything_and_keeps_the_duplicate(db_session, keeper, pair, count_rows):
    survivor, duplicate = pair["survivor"], pair["duplicate"]
    clients_before = count_rows("clients")
    set_actor(db_session, keeper)  # as a request (g.actor_id) or a job does

    result = dedupe.merge_clients(db_session, survivor, duplicate, actor=keeper)
    db_session.expire_all()

    assert sorted(c.id for c in survivor.contacts) == sorted(c.id for c in pair["contacts"])
    assert duplicate.contacts == []
    assert memberships(db_session, survivor) == sorted([pair["shared"].id, pair["only_dup"].id])
    assert memberships(db_session, duplicate) == []
    assert result.group_ids == [pair["only_dup"].id]
    # (Иннопром, 2025) moved; (Иннопром, 2024) the survivor already had stays with the duplicate.
    assert [year for _, year in participations(db_session, survivor)] == [2024, 2025]
    assert pair["moved"].id in [pid for pid, _ in participations(db_session, survivor)]
    assert participations(db_session, duplicate) == [(pair["kept"].id, 2024)]

    # Empty fields filled; filled ones never overwritten.
    assert survivor.name == "ООО «Ромашка»"
    assert survivor.notes == "Основная"
    assert survivor.city == "Самара" and survivor.city_norm == "самара"
    assert survivor.website == "https://romashka.example"
    assert survivor.full_name.startswith("Общество")
    assert "общество" in survivor.name_norm
    assert survivor.readiness == 3 and survivor.relationship_type == "potential"
    assert set(result.filled) == {"full_name", "city", "website", "readiness"}

    # The duplicate is kept and points to the survivor.
    assert count_rows("clients") == clients_before
    assert duplicate.merged_into_id == survivor.id and duplicate.merged_at is not None
    assert dedupe.merged_ids(db_session, survivor) == [duplicate.id]
    assert dedupe.resolve(db_session, duplicate.id).id == survivor.id

    [merged] = audit_rows(db_session, survivor, "merged")
    assert merged.changes["duplicate_id"] == duplicate.id
    assert sorted(merged.changes["contact_ids"]) == sorted(c.id for c in pair["contacts"])
    assert merged.changes["group_ids"] == [pair["only_dup"].id]
    assert merged.changes["filled"]["city"] == "Самара"
    assert merged.actor_id == keeper.id
    [merged_into] = audit_rows(db_session, duplicate, "merged_into")
    assert merged_into.changes["survivor_id"] == survivor.id


def test_merge_never_puts_a_client_twice_into_a_group(db_session, keeper, pair):
    dedupe.merge_clients(db_session, pair["survivor"], pair["duplicate"], actor=keeper)
    count = db_session.scalar(
        select(func.count()).where(
            client_group_members.c.client_id == pair["survivor"].id,
            client_group_members.c.group_id == pair["shared"].id,
        )
    )
    assert count == 1


def test_fields_that_would_not_fit_the_survivor_are_not_filled(db_session, keeper):
    sole_trader = new_client(db_session, keeper, "ИП Петров", kind="sole_trader")
    legal = new_client(db_session, keeper, "Петров ООО", inn=INN, kpp=KPP, city="Самара")
    result = dedupe.merge_clients(db_session, sole_trader, legal, actor=keeper)
    assert result.filled == {"city": "Самара"}
    assert sole_trader.inn is None and sole_trader.kpp is None


@pytest.mark.parametrize("case", ["itself", "into_merged", "merged_duplicate"])
def test_bad_merges_are_refused_with_a_clear_message(db_session, keeper, case):
    a = new_client(db_session, keeper, "ООО «А»")
    b = new_client(db_session, keeper, "ООО «Б»")
    c = new_client(db_session, keeper, "ООО «В»")
    if case == "itself":
        with pytest.raises(ValidationError, match="с самим собой"):
            dedupe.merge_clients(db_session, a, a, actor=keeper)
        return
    dedupe.merge_clients(db_session, a, b, actor=keeper)
    survivor, duplicate = (b, c) if case == "into_merged" else (c, b)
    with pytest.raises(Conflict, match="уже объединён") as err:
        dedupe.merge_clients(db_session, survivor, duplicate, actor=keeper)
    assert err.value.status_code == 409


def test_a_sales_manager_may_not_merge(db_session, keeper, make_user):
    a = new_client(db_session, keeper, "ООО «А»")
    b = new_client(db_session, keeper, "ООО «Б»")
    with pytest.raises(PermissionDenied):
        dedupe.merge_clients(db_session, a, b, actor=make_user("sales_manager"))
    assert b.merged_into_id is None


@contextmanager
def connected(signal, *receivers):
    """Connect test receivers to a signal for the block (blinker's connected_to, for several)."""
    with ExitStack() as stack:
        for receiver in receivers:
            stack.enter_context(signal.connected_to(receiver))
        yield


def test_records_merged_earlier_follow_to_the_new_survivor(db_session, keeper):
    oldest = new_client(db_session, keeper, "Ромашка (старая)")
    middle = new_client(db_session, keeper, "Ромашка")
    survivor = new_client(db_session, keeper, "ООО «Ромашка»")
    dedupe.merge_clients(db_session, middle, oldest, actor=keeper)
    dedupe.merge_clients(db_session, survivor, middle, actor=keeper)
    assert oldest.merged_into_id == survivor.id
    assert dedupe.merged_ids(db_session, survivor) == sorted([oldest.id, middle.id])

    dedupe.unmerge_client(db_session, middle, actor=keeper)
    assert oldest.merged_into_id == middle.id
    assert middle.merged_into_id is None


def test_rows_a_merge_hook_moves_go_back_on_undo_without_any_undo_of_its_own(db_session, keeper):
    """A hook that re-points a table referencing clients (here: leads) needs no undo of its own;
    rows of such tables that no hook moves are moved by the merge itself, and go back alike."""
    from sqlalchemy import update

    from erp_crm.deals.models import Lead

    def move_leads(survivor, *, session, duplicate, **_):
        session.execute(
            update(Lead).where(Lead.client_id == duplicate.id).values(client_id=survivor.id)
        )

    survivor = new_client(db_session, keeper, "ООО «А»")
    duplicate = new_client(db_session, keeper, "А ООО")
    own = Lead(company_name="Своя", client_id=survivor.id)
    theirs = Lead(company_name="Дубля", client_id=duplicate.id)
    db_session.add_all([own, theirs])
    db_session.flush()
    own_id, theirs_id = own.id, theirs.id
    lead_owner = select(Lead.client_id).where(Lead.id == theirs_id)

    for hooks in ([], [move_leads]):
        with connected(signals.client_merged, *hooks):
            dedupe.merge_clients(db_session, survivor, duplicate, actor=keeper)
        assert db_session.scalar(lead_owner) == survivor.id
        row = audit_rows(db_session, survivor, "merged")[-1]
        assert row.changes["moved_by_hooks"] == {"leads.client_id": [theirs_id]}
        assert row.changes["left_on_duplicate"] == {}
        assert row.changes["hooks"] == {signals.receiver_key(h): None for h in hooks}

        dedupe.unmerge_client(db_session, duplicate, actor=keeper)
        assert db_session.scalar(lead_owner) == duplicate.id
        assert db_session.scalar(select(Lead.client_id).where(Lead.id == own_id)) == survivor.id


def test_a_hook_with_its_own_undo_gets_back_what_it_described(db_session, keeper):
    calls = []

    def combine_deals(survivor, *, duplicate, actor, **_):
        calls.append(("merge", survivor.id, duplicate.id, actor.id))
        return {"deal_ids": [7, 8]}

    def split_deals(survivor, *, descriptions, **_):
        calls.append(("unmerge", descriptions[signals.receiver_key(combine_deals)]["deal_ids"]))

    survivor = new_client(db_session, keeper, "ООО «А»")
    duplicate = new_client(db_session, keeper, "А ООО")
    with (
        connected(signals.client_merged, combine_deals),
        connected(signals.client_unmerged, split_deals),
    ):
        dedupe.merge_clients(db_session, survivor, duplicate, actor=keeper)
        [row] = audit_rows(db_session, survivor, "merged")
        assert row.changes["hooks"] == {signals.receiver_key(combine_deals): {"deal_ids": [7, 8]}}
        dedupe.unmerge_client(db_session, duplicate, actor=keeper)
    assert calls == [("merge", survivor.id, duplicate.id, keeper.id), ("unmerge", [7, 8])]


# --- undo ---------------------------------------------------------------------------------------


def test_unmerge_moves_back_what_moved_and_keeps_filled_fields(db_session, keeper, pair):
    survivor, duplicate = pair["survivor"], pair["duplicate"]
    survivor_groups, duplicate_groups = (
        memberships(db_session, survivor),
        memberships(db_session, duplicate),
    )
    survivor_history, duplicate_history = (
        participations(db_session, survivor),
        participations(db_session, duplicate),
    )
    dedupe.merge_clients(db_session, survivor, duplicate, actor=keeper)

    assert dedupe.unmerge_client(db_session, duplicate, actor=keeper) is survivor
    db_session.expire_all()
    assert duplicate.merged_into_id is None and duplicate.merged_at is None
    assert sorted(c.id for c in duplicate.contacts) == sorted(c.id for c in pair["contacts"])
    assert survivor.contacts == []
    assert memberships(db_session, survivor) == survivor_groups
    assert memberships(db_session, duplicate) == duplicate_groups
    assert participations(db_session, survivor) == survivor_history
    assert participations(db_session, duplicate) == duplicate_history
    assert survivor.city == "Самара"  # filled on the survivor, stays
    assert len(audit_rows(db_session, survivor, "unmerged")) == 1
    assert len(audit_rows(db_session, duplicate, "unmerged")) == 1

    with pytest.raises(Conflict, match="не объединён"):
        dedupe.unmerge_client(db_session, duplicate, actor=keeper)


def test_unmerge_is_refused_once_the_survivor_was_merged_further(db_session, keeper):
    a = new_client(db_session, keeper, "ООО «А»")
    b = new_client(db_session, keeper, "ООО «Б»")
    c = new_client(db_session, keeper, "ООО «В»")
    dedupe.merge_clients(db_session, b, a, actor=keeper)
    dedupe.merge_clients(db_session, c, b, actor=keeper)
    with pytest.raises(Conflict, match="сначала отмените"):
        dedupe.unmerge_client(db_session, a, actor=keeper)


# --- pages --------------------------------------------------------------------------------------


def test_the_duplicates_page_lists_pairs_and_merging_redirects_to_the_survivor(
    client, db_session, keeper, pair
):
    survivor, duplicate = pair["survivor"], pair["duplicate"]
    db_session.commit()
    client.login("dedupe_analyst")

    page = client.get("/clients/duplicates").get_data(as_text=True)
    assert "тот же ИНН и КПП" in page
    link = f"/clients/{survivor.id}/merge?duplicate_id={duplicate.id}"
    assert link.replace("&", "&amp;") in page
    past_the_end = client.get("/clients/duplicates?page=99&min_score=90").get_data(as_text=True)
    assert link.replace("&", "&amp;") in past_the_end

    chooser = client.get(f"/clients/{duplicate.id}/merge")
    assert chooser.status_code == 200
    assert "ООО «Ромашка»" in chooser.get_data(as_text=True)

    compare = client.get(link)
    assert compare.status_code == 200
    html = compare.get_data(as_text=True)
    assert "Оставить эту запись" in html and "Иванов Иван" in html

    response = client.submit(link, {"survivor_id": str(duplicate.id)}, token_page=link)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clients/{duplicate.id}")
    db_session.expire_all()
    assert survivor.merged_into_id == duplicate.id

    again = client.submit(link, {"survivor_id": str(duplicate.id)}, token_page="/")
    assert again.status_code == 409
    assert "уже объединён" in again.get_data(as_text=True)

    merged_page = client.get(f"/clients/{survivor.id}/merge").get_data(as_text=True)
    assert "Отменить объединение" in merged_page
    response = client.submit(f"/clients/{survivor.id}/unmerge")
    assert response.status_code == 302
    db_session.expire_all()
    assert survivor.merged_into_id is None


def test_merge_page_answers_bad_choices_with_a_message(client, db_session, keeper):
    a = new_client(db_session, keeper, "ООО «А»")
    db_session.commit()
    client.login("dedupe_analyst")
    same = client.submit(f"/clients/{a.id}/merge", {"duplicate_id": str(a.id)})
    assert same.status_code == 422
    assert "с самим собой" in same.get_data(as_text=True)
    missing = client.submit(f"/clients/{a.id}/merge", {})
    assert missing.status_code == 422
    unknown = client.get(f"/clients/{a.id}/merge?duplicate_id=999999")
    assert unknown.status_code == 404
    assert "не найден" in unknown.get_data(as_text=True)


def test_a_sales_manager_gets_403_on_pages_and_api(
    client, db_session, keeper, make_user, api_token
):
    a = new_client(db_session, keeper, "ООО «А»")
    b = new_client(db_session, keeper, "ООО «Б»")
    make_user("sales_manager", username="dedupe_manager")
    db_session.commit()
    client.login("dedupe_manager")
    assert client.get("/clients/duplicates").status_code == 403
    assert client.get(f"/clients/{a.id}/merge?duplicate_id={b.id}").status_code == 403
    assert client.submit(f"/clients/{a.id}/merge", {"duplicate_id": str(b.id)}).status_code == 403
    headers = api_token("dedupe_manager")
    assert client.get("/api/v1/clients/duplicates", headers=headers).status_code == 403
    response = client.post(
        f"/api/v1/clients/{a.id}/merge", json={"duplicate_id": b.id}, headers=headers
    )
    assert response.status_code == 403
    db_session.expire_all()
    assert b.merged_into_id is None


# --- API ----------------------------------------------------------------------------------------


def test_api_lists_pairs_and_merges(client, db_session, keeper, pair, api_token):
    survivor, duplicate = pair["survivor"], pair["duplicate"]
    db_session.commit()
    headers = api_token("dedupe_analyst")

    body = client.get(
        "/api/v1/clients/duplicates?limit=10&min_score=90", headers=headers
    ).get_json()
    assert {"client_ids": [survivor.id, duplicate.id], "score": 100} == {
        k: body["items"][0][k] for k in ("client_ids", "score")
    }
    assert "тот же ИНН и КПП" in body["items"][0]["reasons"]
    assert body["total"] >= 1
    bad = client.get("/api/v1/clients/duplicates?limit=abc", headers=headers)
    assert bad.status_code == 400

    response = client.post(
        f"/api/v1/clients/{survivor.id}/merge", json={"duplicate_id": duplicate.id}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    merged = response.get_json()
    assert merged["id"] == survivor.id and merged["merged_ids"] == [duplicate.id]
    assert (merged["inn"], merged["kpp"]) == (INN, KPP)
    assert sorted(merged["moved"]["contact_ids"]) == sorted(c.id for c in pair["contacts"])

    again = client.post(
        f"/api/v1/clients/{survivor.id}/merge", json={"duplicate_id": duplicate.id}, headers=headers
    )
    assert again.status_code == 409
    assert "уже объединён" in again.get_json()["error"]["message"]
    itself = client.post(
        f"/api/v1/clients/{survivor.id}/merge", json={"duplicate_id": survivor.id}, headers=headers
    )
    assert itself.status_code == 422
    for payload in ({}, {"duplicate_id": "x"}, {"duplicate_id": 999999}):
        wrong = client.post(f"/api/v1/clients/{survivor.id}/merge", json=payload, headers=headers)
        assert wrong.status_code == 422
        assert "duplicate_id" in wrong.get_json()["error"]["fields"]
    assert (
        client.post(
            "/api/v1/clients/999999/merge", json={"duplicate_id": survivor.id}, headers=headers
        ).status_code
        == 404
    )


def test_the_openapi_document_describes_the_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/clients/duplicates"]
    operation = paths["/api/v1/clients/{client_id}/merge"]["post"]
    assert operation["tags"] == ["clients"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "duplicate_id"
    ]
