"""Demo clients: a few hundred believable counterparties built through the services."""

from __future__ import annotations

import random

from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.clients import competitors, contacts, groups, services
from erp_crm.clients.models import Client
from erp_crm.core.requisites import complete_inn, complete_ogrn

CITIES = [
    ("Самара", "Самарская область"),
    ("Тольятти", "Самарская область"),
    ("Сызрань", "Самарская область"),
    ("Казань", "Республика Татарстан"),
    ("Ульяновск", "Ульяновская область"),
    ("Саратов", "Саратовская область"),
    ("Пенза", "Пензенская область"),
    ("Оренбург", "Оренбургская область"),
    ("Уфа", "Республика Башкортостан"),
    ("Нижний Новгород", "Нижегородская область"),
    ("Москва", "Москва"),
    ("Санкт-Петербург", "Санкт-Петербург"),
    ("Екатеринбург", "Свердловская область"),
    ("Чебоксары", "Чувашская Республика"),
]
INDUSTRIES = [
    "Строительство",
    "Машиностроение",
    "Сельское хозяйство",
    "Медицина",
    "Нефть и газ",
    "Энергетика",
    "Пищевая промышленность",
    "Транспорт и логистика",
    "Информационные технологии",
    "Химическая промышленность",
]
SOURCES = ["Выставка 2025", "Сайт", "Холодный звонок", "Рекомендация", "Справочник", "Импорт ИАО"]
STREETS = [
    "ул. Ленина",
    "ул. Гагарина",
    "ул. Мира",
    "ул. Садовая",
    "ул. Промышленная",
    "ул. Заводская",
    "ул. Молодогвардейская",
    "Московское шоссе",
    "пр-т Кирова",
    "ул. Советская",
    "ул. Больничная",
    "ул. Строителей",
]
ROOTS = [
    "Волга",
    "Самара",
    "Жигули",
    "Поволжье",
    "Урал",
    "Сибирь",
    "Север",
    "Альфа",
    "Вектор",
    "Гранит",
    "Ладья",
    "Стрела",
    "Кама",
    "Заря",
    "Орион",
]
TAILS = [
    "Строй",
    "Техно",
    "Агро",
    "Пром",
    "Мед",
    "Авто",
    "Энерго",
    "Трейд",
    "Маш",
    "Хим",
    "Снаб",
    "Сервис",
]
LATIN = {
    "Волга": "volga",
    "Самара": "samara",
    "Жигули": "zhiguli",
    "Поволжье": "povolzhie",
    "Урал": "ural",
    "Сибирь": "sibir",
    "Север": "sever",
    "Альфа": "alfa",
    "Вектор": "vektor",
    "Гранит": "granit",
    "Ладья": "ladya",
    "Стрела": "strela",
    "Кама": "kama",
    "Заря": "zarya",
    "Орион": "orion",
    "Строй": "stroy",
    "Техно": "tekhno",
    "Агро": "agro",
    "Пром": "prom",
    "Мед": "med",
    "Авто": "avto",
    "Энерго": "energo",
    "Трейд": "treyd",
    "Маш": "mash",
    "Хим": "khim",
    "Снаб": "snab",
    "Сервис": "servis",
}
MEN = [
    ("Иван", "Иванович"),
    ("Сергей", "Петрович"),
    ("Алексей", "Николаевич"),
    ("Дмитрий", "Андреевич"),
    ("Андрей", "Викторович"),
    ("Павел", "Олегович"),
]
WOMEN = [
    ("Елена", "Сергеевна"),
    ("Ольга", "Ивановна"),
    ("Наталья", "Алексеевна"),
    ("Анна", "Дмитриевна"),
    ("Мария", "Павловна"),
    ("Татьяна", "Юрьевна"),
]
SURNAMES = [
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
]
POSITIONS = [
    "Генеральный директор",
    "Коммерческий директор",
    "Директор по маркетингу",
    "Менеджер по рекламе",
    "Главный инженер",
    "Руководитель отдела продаж",
]
COMPETITORS = [
    ("Иннопром", "Екатеринбург"),
    ("MosBuild", "Москва"),
    ("Агрорусь", "Санкт-Петербург"),
    ("Стройэкспо Казань", "Казань"),
    ("Нефтегаз", "Москва"),
]


def load_demo_clients(session: Session, users: dict[str, User], *, count: int = 300) -> int:
    rng = random.Random(2026)  # noqa: S311 (demo data, not security)
    analyst = users["analyst"]
    managers = [users["manager1"], users["manager2"], users["manager3"]]
    exhibitions = [
        competitors.add_competitor_exhibition(session, name, city=city, actor=analyst)
        for name, city in COMPETITORS
    ]
    common = {
        "geo": groups.create_group(
            session, name="Самарская область", kind="common", category="geography", actor=analyst
        ),
        "build": groups.create_group(
            session, name="Строители", kind="common", category="industry", actor=analyst
        ),
        "target": groups.create_group(
            session,
            name="Целевая группа «ВолгаСтройЭкспо»",
            kind="common",
            category="target",
            actor=analyst,
        ),
        "mailing": groups.create_group(
            session,
            name="Рассылка: новости выставок",
            kind="common",
            category="mailing",
            actor=analyst,
        ),
    }
    hot = groups.create_group(
        session, name="Горячие на осень", kind="personal", category="other", actor=managers[0]
    )
    members: dict[str, list[int]] = {key: [] for key in common}
    hot_members: list[int] = []
    used_names: set[str] = set()
    twins: list[Client] = []  # clients that get a duplicate entered by someone else
    for n in range(count):
        root, tail = rng.choice(ROOTS), rng.choice(TAILS)
        city, region = rng.choice(CITIES)
        kind = "sole_trader" if n % 9 == 0 else ("person" if n % 13 == 0 else "legal")
        base = f"{root}{tail.lower()}"
        person = rng.choice(MEN)
        name = (
            f"ИП {rng.choice(SURNAMES)} {rng.choice(MEN)[0][0]}."
            if kind == "sole_trader"
            else f"{rng.choice(SURNAMES)} {person[0]} {person[1]}"
            if kind == "person"
            else f"ООО «{base}»"
        )
        if name in used_names and kind == "legal":
            # the same brand in another city is another company, as it is in life
            base = f"{base}-{city}"
            name = f"ООО «{base}»"
        copy = 2
        while name in used_names:
            name = f"{name} ({city}, {copy})" if kind != "legal" else f"ООО «{base}-{copy}»"
            copy += 1
        used_names.add(name)
        region_code = f"{rng.randint(10, 99)}"
        if kind == "legal":
            inn = complete_inn(f"{region_code}{n:07d}")
            ogrn = complete_ogrn(f"1{rng.randint(2, 22):02d}{region_code}{n:07d}"[:12])
            kpp = f"{inn[:4]}01001"
        elif kind == "sole_trader":
            inn = complete_inn(f"{region_code}{n:08d}")
            ogrn = complete_ogrn(f"3{rng.randint(4, 22):02d}{region_code}{n:09d}"[:14])
            kpp = None
        else:  # a private person: a visitor turned exhibitor, an individual expert
            inn, ogrn, kpp = None, None, None
        industry = rng.choice(INDUSTRIES)
        readiness = rng.choice([0, 0, 1, 2, 3, 3, 4])
        curator = rng.choice(managers)
        client = services.create_client(
            session,
            services.ClientData(
                kind=kind,
                name=name,
                full_name=(
                    f"Общество с ограниченной ответственностью «{base}»"
                    if kind == "legal"
                    else None
                ),
                inn=inn,
                kpp=kpp,
                ogrn=ogrn,
                legal_address=f"{city}, {rng.choice(STREETS)}, д. {rng.randint(1, 120)}",
                region=region,
                city=city,
                industry=industry,
                website=f"https://{LATIN[root]}{LATIN[tail]}{n}.ru" if kind == "legal" else None,
                source=rng.choice(SOURCES),
                readiness=readiness,
                curator_id=curator.id,
                mailing_consent=rng.random() < 0.6,
            ),
            actor=analyst,
        )
        for c in range(rng.choice([1, 1, 2, 2, 3])):
            first, middle = rng.choice(MEN if c % 2 == 0 else WOMEN)
            last = rng.choice(SURNAMES) + ("" if c % 2 == 0 else "а")
            contacts.add_contact(
                session,
                client,
                contacts.ContactData(
                    full_name=f"{last} {first} {middle}",
                    position=rng.choice(POSITIONS),
                    phones=[
                        f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-"
                        f"{rng.randint(10, 99)}-{rng.randint(10, 99)}"
                    ],
                    emails=[f"{LATIN[root]}{n}.{c}@{LATIN[root]}{LATIN[tail]}{n}.ru"],
                ),
                actor=analyst,
            )
        if rng.random() < 0.3:
            competitors.add_competitor_participation(
                session,
                client,
                rng.choice(exhibitions).id,
                rng.choice([2024, 2025]),
                actor=analyst,
            )
        if kind == "legal" and len(twins) < 6 and n % 17 == 5:
            twins.append(client)
        if region == "Самарская область":
            members["geo"].append(client.id)
        if industry == "Строительство":
            members["build"].append(client.id)
        if industry in ("Строительство", "Машиностроение") and readiness >= 2:
            members["target"].append(client.id)
        if client.mailing_consent:
            members["mailing"].append(client.id)
        if curator is managers[0] and readiness >= 3:
            hot_members.append(client.id)
    _add_duplicates(session, twins, analyst)
    for key, group in common.items():
        if members[key]:
            groups.add_to_group(session, group, members[key], actor=analyst)
    if hot_members:
        groups.add_to_group(session, hot, hot_members, actor=managers[0])
    return count


def _add_duplicates(session: Session, originals: list[Client], analyst: User) -> None:
    """The duplicates a shared base collects: the same company entered again, its name written
    another way — half with the same ИНН/КПП, half without requisites but with a known phone —
    for the analysts' «Дубли» page."""
    for i, original in enumerate(originals):
        core = original.name.removeprefix("ООО «").removesuffix("»")
        same_requisites = i % 2 == 0
        twin = services.create_client(
            session,
            services.ClientData(
                kind="legal",
                name=f"{core} ООО" if same_requisites else f'ООО "{core.upper()}"',
                inn=original.inn if same_requisites else None,
                kpp=original.kpp if same_requisites else None,
                city=original.city,
                region=original.region,
                industry=original.industry,
                source="Звонок в офис",
                readiness=original.readiness,
                curator_id=original.curator_id,
            ),
            actor=analyst,
        )
        phones = [p for c in original.contacts for p in c.phones][:1]
        contacts.add_contact(
            session,
            twin,
            contacts.ContactData(full_name="Приёмная", position="Секретарь", phones=phones),
            actor=analyst,
        )
