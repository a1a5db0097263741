"""A fast, seeded generator of a believable client base: companies, sole traders, people.

Every client is a pure function of (seed, index), so the XLSX of the import benchmark can repeat
some clients of the generated base (same ИНН and name) and the figures are reproducible.

Rows go in with bulk statements that bypass the services (and so the audit trail): SQLAlchemy
Core `insert(table)` with lists of dicts on SQLite, COPY through psycopg on PostgreSQL. The
derived columns are filled exactly as `erp_crm.clients.services._apply` does.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import random
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from erp_crm.clients.models import (
    Client,
    ClientGroup,
    CompetitorExhibition,
    CompetitorParticipation,
    ContactChannel,
    ContactPerson,
    client_group_members,
)
from erp_crm.core import requisites
from erp_crm.core import text as textnorm

# --- vocabularies -------------------------------------------------------------------------------

# (city, region, region code of ИНН/КПП, weight)
CITIES: list[tuple[str, str, str, int]] = [
    ("Москва", "Москва", "77", 40),
    ("Санкт-Петербург", "Санкт-Петербург", "78", 20),
    ("Новосибирск", "Новосибирская область", "54", 4),
    ("Екатеринбург", "Свердловская область", "66", 5),
    ("Казань", "Республика Татарстан", "16", 5),
    ("Нижний Новгород", "Нижегородская область", "52", 4),
    ("Челябинск", "Челябинская область", "74", 3),
    ("Самара", "Самарская область", "63", 6),
    ("Тольятти", "Самарская область", "63", 3),
    ("Омск", "Омская область", "55", 2),
    ("Ростов-на-Дону", "Ростовская область", "61", 4),
    ("Уфа", "Республика Башкортостан", "02", 3),
    ("Красноярск", "Красноярский край", "24", 3),
    ("Воронеж", "Воронежская область", "36", 3),
    ("Пермь", "Пермский край", "59", 3),
    ("Волгоград", "Волгоградская область", "34", 2),
    ("Краснодар", "Краснодарский край", "23", 4),
    ("Сочи", "Краснодарский край", "23", 1),
    ("Саратов", "Саратовская область", "64", 2),
    ("Тюмень", "Тюменская область", "72", 2),
    ("Ижевск", "Удмуртская Республика", "18", 2),
    ("Барнаул", "Алтайский край", "22", 1),
    ("Ульяновск", "Ульяновская область", "73", 2),
    ("Иркутск", "Иркутская область", "38", 2),
    ("Хабаровск", "Хабаровский край", "27", 1),
    ("Ярославль", "Ярославская область", "76", 2),
    ("Владивосток", "Приморский край", "25", 1),
    ("Махачкала", "Республика Дагестан", "05", 1),
    ("Томск", "Томская область", "70", 1),
    ("Оренбург", "Оренбургская область", "56", 2),
    ("Кемерово", "Кемеровская область — Кузбасс", "42", 1),
    ("Новокузнецк", "Кемеровская область — Кузбасс", "42", 1),
    ("Рязань", "Рязанская область", "62", 1),
    ("Астрахань", "Астраханская область", "30", 1),
    ("Пенза", "Пензенская область", "58", 2),
    ("Липецк", "Липецкая область", "48", 1),
    ("Киров", "Кировская область", "43", 1),
    ("Чебоксары", "Чувашская Республика", "21", 2),
    ("Тула", "Тульская область", "71", 1),
    ("Калининград", "Калининградская область", "39", 1),
    ("Белгород", "Белгородская область", "31", 1),
    ("Ставрополь", "Ставропольский край", "26", 1),
]
_CITY_CUM = list(itertools.accumulate(c[3] for c in CITIES))

GEOGRAPHY = {
    "Москва": "Центр",
    "Санкт-Петербург": "Северо-Запад",
    "Калининградская область": "Северо-Запад",
    "Новосибирская область": "Сибирь",
    "Красноярский край": "Сибирь",
    "Омская область": "Сибирь",
    "Томская область": "Сибирь",
    "Иркутская область": "Сибирь",
    "Алтайский край": "Сибирь",
    "Кемеровская область — Кузбасс": "Сибирь",
    "Свердловская область": "Урал",
    "Челябинская область": "Урал",
    "Тюменская область": "Урал",
    "Пермский край": "Урал",
    "Хабаровский край": "Дальний Восток",
    "Приморский край": "Дальний Восток",
    "Ростовская область": "Юг",
    "Краснодарский край": "Юг",
    "Волгоградская область": "Юг",
    "Астраханская область": "Юг",
    "Ставропольский край": "Юг",
    "Республика Дагестан": "Юг",
}  # everything else: Поволжье / Центр, see _geo_group

INDUSTRIES = [
    "Сельское хозяйство",
    "Пищевая промышленность",
    "Строительство",
    "Строительные материалы",
    "Машиностроение",
    "Металлургия",
    "Нефть и газ",
    "Энергетика",
    "Химическая промышленность",
    "Медицина и фармацевтика",
    "Транспорт и логистика",
    "Оптовая торговля",
    "Розничная торговля",
    "Информационные технологии",
    "Связь и телекоммуникации",
    "Образование",
    "Финансы и страхование",
    "Недвижимость",
    "Туризм и гостиничный бизнес",
    "Мебельное производство",
    "Лёгкая промышленность",
    "Полиграфия и реклама",
    "Деревообработка",
    "Упаковка",
    "Автомобильная промышленность",
    "Жилищно-коммунальное хозяйство",
]

SOURCES = [
    "Выставка",
    "Сайт",
    "Рекомендация",
    "Холодный звонок",
    "Импорт из 1С",
    "Рассылка",
    "Отраслевой каталог",
]

ROOTS = (
    "Волга Урал Сибирь Альфа Вектор Техно Агро Строй Пром Энерго Мед Нефте Газ Лес Транс Инвест "
    "Металл Стандарт Прогресс Регион Гранит Каскад Меридиан Орион Полюс Спектр Старт Сфера Форум "
    "Эталон Авангард Бизнес Восток Запад Север Юг Дельта Квант Лидер Максимум Нова Оптима Партнёр "
    "Ресурс Росс Синтез Триумф Фактор Феникс Центр Экспо Элит Арсенал Байкал Кама Ока Дон Нева "
    "Амур Алтай"
).split()
TAILS = (
    "пласт маш сервис комплект торг снаб лайн групп трейд софт строй пром монтаж проект холдинг "
    "инжиниринг логистик продукт систем технологии фарм хим электро авто агро мебель текстиль пак "
    "терм вент гидро кабель профиль стиль тех ком мир опт дом лес"
).split()
EXTRAS = [" Плюс", " М", "-Регион", " 2000", " НН", " Сервис", " Групп", "-Центр", " и К", " Про"]

LEGAL_FORMS = [
    ("ООО", "Общество с ограниченной ответственностью", 70),
    ("АО", "Акционерное общество", 14),
    ("ЗАО", "Закрытое акционерное общество", 5),
    ("ПАО", "Публичное акционерное общество", 3),
    ("ОАО", "Открытое акционерное общество", 3),
    ("ФГУП", "Федеральное государственное унитарное предприятие", 1),
    ("АНО", "Автономная некоммерческая организация", 2),
]
_FORM_CUM = list(itertools.accumulate(f[2] for f in LEGAL_FORMS))
_READINESS_CUM = list(itertools.accumulate((40, 15, 15, 18, 12)))

SURNAMES = (
    "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов "
    "Волков Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров "
    "Никитин Захаров Зайцев Соловьёв Борисов Яковлев Григорьев Романов Воробьёв Сергеев Кузьмин "
    "Фролов Александров Дмитриев Королёв Гусев Киселёв Ильин Максимов Поляков Сорокин Виноградов "
    "Ковалёв Белов Медведев Антонов Тарасов Жуков Баранов Филиппов Комаров Давыдов Беляев "
    "Герасимов Богданов Осипов Сидоров Матвеев Титов Марков Миронов Крылов Куликов Карпов Власов "
    "Мельников Денисов Гаврилов Тихонов Казаков Афанасьев Данилов Савельев Тимофеев Фомин Чернов "
    "Абрамов Мартынов Ефимов Федотов Щербаков Назаров Калинин Исаев Чернышёв Быков Маслов "
    "Родионов Коновалов "
    "Лазарев Воронин Климов Филатов Пономарёв Голубев Кудрявцев Прохоров Наумов Потапов Журавлёв "
    "Овчинников Трофимов Леонов Соболев Ермаков Колесников Гончаров Емельянов Никифоров Грачёв "
    "Котов Гришин Ефремов Архипов Громов Кириллов Малышев Панов Моисеев Румянцев Акимов Кондратьев "
    "Бирюков Горбунов Анисимов Еремеев Субботин Шубин Блинов Ершов Лукин Рябов Савин Шестаков "
    "Высоцкий Вишневский Ковальский Островский Жилинский Ладыгин Бородин Муравьёв"
).split()
MALE_NAMES = [
    ("Александр", "Александрович", "Александровна"),
    ("Алексей", "Алексеевич", "Алексеевна"),
    ("Андрей", "Андреевич", "Андреевна"),
    ("Антон", "Антонович", "Антоновна"),
    ("Артём", "Артёмович", "Артёмовна"),
    ("Борис", "Борисович", "Борисовна"),
    ("Вадим", "Вадимович", "Вадимовна"),
    ("Василий", "Васильевич", "Васильевна"),
    ("Виктор", "Викторович", "Викторовна"),
    ("Владимир", "Владимирович", "Владимировна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"),
    ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Игорь", "Игоревич", "Игоревна"),
    ("Илья", "Ильич", "Ильинична"),
    ("Кирилл", "Кириллович", "Кирилловна"),
    ("Константин", "Константинович", "Константиновна"),
    ("Максим", "Максимович", "Максимовна"),
    ("Михаил", "Михайлович", "Михайловна"),
    ("Николай", "Николаевич", "Николаевна"),
    ("Олег", "Олегович", "Олеговна"),
    ("Павел", "Павлович", "Павловна"),
    ("Роман", "Романович", "Романовна"),
    ("Сергей", "Сергеевич", "Сергеевна"),
    ("Степан", "Степанович", "Степановна"),
    ("Юрий", "Юрьевич", "Юрьевна"),
    ("Ярослав", "Ярославович", "Ярославовна"),
]
FEMALE_NAMES = (
    "Анна Елена Ольга Наталья Татьяна Ирина Светлана Мария Екатерина Юлия Анастасия Марина "
    "Людмила Галина Дарья Ксения Вера Надежда Любовь Алина Евгения Полина Виктория Валентина"
).split()
POSITIONS = [
    "Генеральный директор",
    "Директор",
    "Коммерческий директор",
    "Директор по маркетингу",
    "Маркетолог",
    "Менеджер по маркетингу",
    "Менеджер по продажам",
    "Руководитель отдела продаж",
    "Главный инженер",
    "Технический директор",
    "Главный бухгалтер",
    "Бухгалтер",
    "Офис-менеджер",
    "Секретарь",
    "Менеджер по выставкам",
    "PR-менеджер",
    "Начальник отдела снабжения",
    "Специалист по закупкам",
    "Заместитель директора",
    "Владелец",
]
STREETS = (
    "Ленина Мира Советская Садовая Гагарина Молодёжная Школьная Лесная Центральная Победы "
    "Московская Заводская Кирова Пушкина Октябрьская Набережная Промышленная Чапаева Свободы "
    "Куйбышева Строителей Горького Комсомольская"
).split()
MAIL_DOMAINS = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru", "rambler.ru"]
NOTES = [
    "Просили перезвонить после выставки.",
    "Интересуются стендом 18–24 м² у входа.",
    "Участвовали в 2023 году, остались довольны.",
    "Бюджет согласует головной офис.",
    "Предпочитают связь по электронной почте.",
    "Нужен счёт с НДС.",
    "Рассматривают совместный стенд с партнёрами.",
]

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya".split(),
        strict=True,
    )
)


@functools.lru_cache(maxsize=4096)
def translit(value: str) -> str:
    out = []
    for ch in value.lower():
        if ch in _TRANSLIT:
            sub = _TRANSLIT[ch]
            out.append("" if sub == "_" else sub)
        elif ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch in " -":
            out.append("-")
    return "".join(out).strip("-")


# --- one client ---------------------------------------------------------------------------------


@dataclass
class ContactSpec:
    full_name: str
    position: str | None
    birthday: dt.date | None
    phones: list[str]
    emails: list[str]
    notes: str | None = None


@dataclass
class ClientSpec:
    """One client as plain data, before it has database ids."""

    index: int
    kind: str
    name: str
    full_name: str | None
    inn: str
    kpp: str | None
    ogrn: str | None
    legal_address: str | None
    postal_address: str | None
    region: str
    city: str
    industry: str | None
    website: str | None
    source: str | None
    readiness: int
    relationship_type: str
    notes: str | None
    mailing_consent: bool
    external_id: str | None
    created_at: dt.datetime
    contacts: list[ContactSpec] = field(default_factory=list)
    merged_into_index: int | None = None

    @property
    def name_norm(self) -> str:
        from erp_crm.clients.services import name_norm  # exactly as the app fills it

        return name_norm(self.name, self.full_name)

    @property
    def city_norm(self) -> str | None:
        from erp_crm.clients.services import city_norm

        return city_norm(self.city)


_EPOCH = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
_SPAN_SECONDS = int((dt.datetime(2026, 1, 1, tzinfo=dt.UTC) - _EPOCH).total_seconds())


class _Random(random.Random):
    """random.Random with float-based choice/randrange: a third of the generator's time less."""

    def choice(self, seq: Sequence[Any]) -> Any:  # type: ignore[override]
        return seq[int(self.random() * len(seq))]

    def randrange(self, start: int, stop: int | None = None) -> int:  # type: ignore[override]
        if stop is None:
            return int(self.random() * start)
        return start + int(self.random() * (stop - start))

    def weighted(self, seq: Sequence[Any], cumulative: list[float]) -> Any:
        return seq[bisect.bisect(cumulative, self.random() * cumulative[-1])]


def _rng(seed: int, index: int, salt: int = 0) -> _Random:
    return _Random((seed * 1_000_003 + salt) * 10_000_019 + index)


def _person(rng: _Random) -> tuple[str, str, str, bool]:
    """(surname, first name, patronymic, male)."""
    surname = rng.choice(SURNAMES)
    father = rng.choice(MALE_NAMES)
    if rng.random() < 0.5:
        first, _, _ = rng.choice(MALE_NAMES)
        return surname, first, father[1], True
    if surname.endswith("ий"):
        surname = surname[:-2] + "ая"
    else:
        surname += "а"
    return surname, rng.choice(FEMALE_NAMES), father[2], False


def company_core(rng: _Random) -> str:
    """The distinctive part of a company name: «Волгапласт», «Кама-Профиль», «Орион Софт»."""
    root, tail = rng.choice(ROOTS), rng.choice(TAILS)
    style = rng.random()
    if style < 0.45:
        core = root + tail
    elif style < 0.75:
        core = f"{root}-{tail.capitalize()}"
    else:
        core = f"{root} {tail.capitalize()}"
    if rng.random() < 0.2:
        core += rng.choice(EXTRAS)
    return core


def _phone(rng: _Random) -> str:
    """A Russian mobile number in E.164 (the +7 930 range has unassigned blocks: skipped)."""
    code = rng.randrange(900, 1000)
    if code == 930:
        code = 931
    return f"+7{code}{rng.randrange(10**7):07d}"


def make_client(seed: int, index: int) -> ClientSpec:
    """Client number `index` of the base generated with `seed` (deterministic)."""
    rng = _rng(seed, index)
    city, region, code, _ = rng.weighted(CITIES, _CITY_CUM)
    roll = rng.random()
    kind = "legal" if roll < 0.82 else ("sole_trader" if roll < 0.95 else "person")
    scrambled = (index * 7_654_321 + 1_234_567) % 10**8  # bijective on 0..10**8-1: ИНН unique
    website = None
    kpp = ogrn = None
    if kind == "legal":
        short, long, _ = rng.weighted(LEGAL_FORMS, _FORM_CUM)
        core = company_core(rng)
        name = f"{short} «{core}»"
        full_name = f"{long} «{core}»" if rng.random() < 0.7 else None
        inn = requisites.complete_inn(code + f"{scrambled % 10**7:07d}")
        if rng.random() < 0.9:
            kpp = inn[:4] + rng.choice(("01001", "01001", "01001", "43001", "50001"))
        if rng.random() < 0.6:
            ogrn = requisites.complete_ogrn(
                "1" + f"{rng.randrange(2, 25):02d}" + code + f"{scrambled % 10**7:07d}"
            )
        if rng.random() < 0.55:
            website = f"https://{translit(core)}.ru"
    else:
        surname, first, patronymic, _male = _person(rng)
        person = f"{surname} {first} {patronymic}"
        inn = requisites.complete_inn(code + f"{scrambled:08d}")
        if kind == "sole_trader":
            name = f"ИП {person}"
            full_name = f"Индивидуальный предприниматель {person}" if rng.random() < 0.5 else None
            if rng.random() < 0.5:
                ogrn = requisites.complete_ogrn(
                    "3" + f"{rng.randrange(4, 25):02d}" + code + f"{scrambled % 10**9:09d}"
                )
        else:
            name, full_name = person, None
    postcode = f"{rng.randrange(101000, 693000):06d}"
    address = f"{postcode}, г. {city}, ул. {rng.choice(STREETS)}, д. {rng.randrange(1, 180)}" + (
        f", офис {rng.randrange(1, 900)}" if rng.random() < 0.5 else ""
    )
    readiness = rng.weighted((0, 1, 2, 3, 4), _READINESS_CUM)
    roll = rng.random()
    if roll < 0.08:
        relationship = "permanent"
    elif roll < 0.18:
        relationship = "current"
    else:
        relationship = "potential" if readiness >= 3 else "cold"
    created_at = _EPOCH + dt.timedelta(seconds=rng.randrange(_SPAN_SECONDS))
    spec = ClientSpec(
        index=index,
        kind=kind,
        name=name,
        full_name=full_name,
        inn=inn,
        kpp=kpp,
        ogrn=ogrn,
        legal_address=address if rng.random() < 0.75 else None,
        postal_address=address if rng.random() < 0.3 else None,
        region=region,
        city=city,
        industry=rng.choice(INDUSTRIES) if rng.random() < 0.85 else None,
        website=website,
        source=rng.choice(SOURCES) if rng.random() < 0.7 else None,
        readiness=readiness,
        relationship_type=relationship,
        notes=rng.choice(NOTES) if rng.random() < 0.1 else None,
        mailing_consent=rng.random() < 0.35,
        external_id=f"1C-{index:08d}" if rng.random() < 0.3 else None,
        created_at=created_at,
    )
    domain = website[len("https://") :] if website else None
    spec.contacts = [_make_contact(rng, domain) for _ in range(_contact_count(rng, 2.5))]
    return spec


def _contact_count(rng: _Random, mean: float) -> int:
    base = int(mean)
    count = base + (1 if rng.random() < mean - base else 0)
    if rng.random() < 0.4:
        step = rng.choice((-1, 1))
        if count + step >= 0 and (step > 0 or count > 0):
            count += step
    return count


def _make_contact(rng: _Random, domain: str | None) -> ContactSpec:
    surname, first, patronymic, _male = _person(rng)
    phones = [_phone(rng)] if rng.random() < 0.9 else []
    if phones and rng.random() < 0.12:
        phones.append(_phone(rng))
    emails = []
    if rng.random() < 0.75:
        login = f"{translit(first)[0]}.{translit(surname)}"
        if rng.random() < 0.3:
            login += str(rng.randrange(1, 99))
        host = domain if domain and rng.random() < 0.6 else rng.choice(MAIL_DOMAINS)
        emails.append(f"{login}@{host}".lower())
    birthday = None
    if rng.random() < 0.3:
        birthday = dt.date(rng.randrange(1960, 2001), rng.randrange(1, 13), rng.randrange(1, 29))
    return ContactSpec(
        full_name=f"{surname} {first} {patronymic}",
        position=rng.choice(POSITIONS) if rng.random() < 0.85 else None,
        birthday=birthday,
        phones=phones,
        emails=emails,
    )


def make_base_client(seed: int, index: int, contacts_per_client: float = 2.5) -> ClientSpec:
    """A client of the generated base: ~1 % are merged duplicates of the client before them."""
    spec = make_client(seed, index)
    if contacts_per_client != 2.5:
        rng = _rng(seed, index, salt=1)
        domain = spec.website[len("https://") :] if spec.website else None
        spec.contacts = [
            _make_contact(rng, domain) for _ in range(_contact_count(rng, contacts_per_client))
        ]
    if index % 100 == 37:
        # the same company typed in again by someone else, later merged into the first record
        duplicate = make_client(seed, index - 1)
        duplicate.index = index
        duplicate.name = duplicate.name.replace("«", '"').replace("»", '"')
        duplicate.full_name = duplicate.ogrn = duplicate.external_id = None
        duplicate.created_at = spec.created_at
        duplicate.contacts = spec.contacts
        duplicate.merged_into_index = index - 1
        return duplicate
    return spec


# --- the database -------------------------------------------------------------------------------


@dataclass
class World:
    """What generated clients point at: curators, creators, groups, competitors' exhibitions."""

    curator_ids: list[int]
    creator_ids: list[int]
    geo_groups: dict[str, int]
    industry_groups: dict[str, int]
    other_common_groups: list[int]
    personal_groups: dict[int, list[int]]
    exhibition_ids: list[int]


@dataclass
class GenerationStats:
    clients: int = 0
    contacts: int = 0
    channels: int = 0
    memberships: int = 0
    participations: int = 0
    seconds: float = 0.0
    reused: bool = False  # the rows came from the cache of an earlier database


def _next_id(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def _geo_group(region: str) -> str:
    if region in GEOGRAPHY:
        return GEOGRAPHY[region]
    return "Поволжье" if region.endswith(("область", "Республика", "Татарстан")) else "Центр"


def create_world(conn: Connection, curator_ids: list[int], creator_ids: list[int]) -> World:
    """Groups and competitors' exhibitions (a few dozen rows), with explicit ids."""
    now = dt.datetime.now(dt.UTC)
    group_id = _next_id(conn, ClientGroup.__table__)
    groups: list[dict[str, Any]] = []

    def group(name: str, category: str, kind: str = "common", owner: int | None = None) -> int:
        nonlocal group_id
        groups.append(
            {
                "id": group_id,
                "name": name,
                "kind": kind,
                "category": category,
                "owner_id": owner,
                "description": None,
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        group_id += 1
        return group_id - 1

    geo = {
        g: group(g, "geography")
        for g in ("Центр", "Северо-Запад", "Поволжье", "Урал", "Сибирь", "Юг", "Дальний Восток")
    }
    industries = {i: group(i, "industry") for i in INDUSTRIES[:10]}
    other = [
        group("Целевые: «Агропромышленная неделя» 2026", "target"),
        group("Целевые: «Строй-Экспо Поволжье» 2026", "target"),
        group("Целевые: «Медицина и здоровье» 2026", "target"),
        group("Рассылка: приглашения на выставки", "mailing"),
        group("Рассылка: новости отрасли", "mailing"),
        group("Участники 2024", "participation"),
        group("Участники 2025", "participation"),
    ]
    personal = {
        uid: [
            group("Мои горячие", "other", "personal", uid),
            group("Перезвонить", "other", "personal", uid),
        ]
        for uid in curator_ids
    }
    conn.execute(insert(ClientGroup.__table__), groups)
    exhibition_id = _next_id(conn, CompetitorExhibition.__table__)
    exhibitions = [
        ("Агрорусь", "ЭкспоФорум", "Санкт-Петербург"),
        ("ПродЭкспо", "Экспоцентр", "Москва"),
        ("MosBuild", "Hyve Group", "Москва"),
        ("Иннопром", "Иннопром", "Екатеринбург"),
        ("Здравоохранение", "Экспоцентр", "Москва"),
        ("Металлообработка", "Экспоцентр", "Москва"),
        ("Золотая осень", "Минсельхоз России", "Москва"),
        ("Волга-Экспо", "Экспо-Волга", "Самара"),
    ]
    rows = [
        {
            "id": exhibition_id + n,
            "name": name,
            "organizer": organizer,
            "city": city,
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        for n, (name, organizer, city) in enumerate(exhibitions)
    ]
    conn.execute(insert(CompetitorExhibition.__table__), rows)
    return World(
        curator_ids=curator_ids,
        creator_ids=creator_ids,
        geo_groups=geo,
        industry_groups=industries,
        other_common_groups=other,
        personal_groups=personal,
        exhibition_ids=[r["id"] for r in rows],
    )


CLIENT_COLUMNS = [
    "id",
    "kind",
    "name",
    "full_name",
    "name_norm",
    "inn",
    "kpp",
    "ogrn",
    "legal_address",
    "postal_address",
    "region",
    "city",
    "city_norm",
    "industry",
    "website",
    "source",
    "readiness",
    "relationship_type",
    "curator_id",
    "notes",
    "mailing_consent",
    "external_id",
    "created_by_id",
    "merged_into_id",
    "merged_at",
    "created_at",
    "updated_at",
]
CONTACT_COLUMNS = [
    "id",
    "client_id",
    "full_name",
    "name_norm",
    "position",
    "birthday",
    "notes",
    "curator_id",
    "is_active",
    "created_at",
    "updated_at",
]
CHANNEL_COLUMNS = ["contact_id", "kind", "value"]
MEMBER_COLUMNS = ["group_id", "client_id"]
PARTICIPATION_COLUMNS = ["client_id", "exhibition_id", "year"]


@dataclass
class _Chunk:
    clients: list[tuple[Any, ...]] = field(default_factory=list)
    contacts: list[tuple[Any, ...]] = field(default_factory=list)
    channels: list[tuple[Any, ...]] = field(default_factory=list)
    members: list[tuple[Any, ...]] = field(default_factory=list)
    participations: list[tuple[Any, ...]] = field(default_factory=list)


def _rows_for(
    spec: ClientSpec, client_id: int, first_contact_id: int, world: World, seed: int
) -> _Chunk:
    """The rows of one client, as tuples in the order of the *_COLUMNS lists."""
    rng = _rng(seed, spec.index, salt=2)
    curator = rng.choice(world.curator_ids) if rng.random() < 0.85 else None
    creator = curator if curator and rng.random() < 0.7 else rng.choice(world.creator_ids)
    updated = spec.created_at + dt.timedelta(days=rng.randrange(0, 400))
    merged_into = (
        client_id - (spec.index - spec.merged_into_index)
        if spec.merged_into_index is not None
        else None
    )
    out = _Chunk()
    out.clients.append(
        (
            client_id,
            spec.kind,
            spec.name,
            spec.full_name,
            spec.name_norm,
            spec.inn,
            spec.kpp,
            spec.ogrn,
            spec.legal_address,
            spec.postal_address,
            spec.region,
            spec.city,
            spec.city_norm,
            spec.industry,
            spec.website,
            spec.source,
            spec.readiness,
            spec.relationship_type,
            curator,
            spec.notes,
            spec.mailing_consent,
            spec.external_id,
            creator,
            merged_into,
            updated if merged_into else None,
            spec.created_at,
            updated,
        )
    )
    for n, contact in enumerate(spec.contacts):
        contact_id = first_contact_id + n
        out.contacts.append(
            (
                contact_id,
                client_id,
                contact.full_name,
                textnorm.normalize(contact.full_name)[:300],
                contact.position,
                contact.birthday,
                contact.notes,
                curator if rng.random() < 0.8 else None,
                rng.random() < 0.95,
                spec.created_at,
                spec.created_at,
            )
        )
        out.channels.extend((contact_id, "phone", p) for p in contact.phones)
        out.channels.extend((contact_id, "email", e) for e in contact.emails)
    groups = set()
    if rng.random() < 0.6:
        groups.add(world.geo_groups[_geo_group(spec.region)])
    if spec.industry in world.industry_groups and rng.random() < 0.4:
        groups.add(world.industry_groups[spec.industry])
    if rng.random() < 0.25:
        groups.add(rng.choice(world.other_common_groups))
    if curator and rng.random() < 0.1:
        groups.add(rng.choice(world.personal_groups[curator]))
    out.members.extend((g, client_id) for g in sorted(groups))
    if rng.random() < 0.08:
        years = sorted(rng.sample(range(2019, 2026), rng.randrange(1, 3)))
        exhibition = rng.choice(world.exhibition_ids)
        out.participations.extend((client_id, exhibition, y) for y in years)
    return out


class Writer:
    """Core executemany on SQLite (and any other backend); COPY through psycopg on PostgreSQL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.copy = conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"
        if conn.dialect.name == "sqlite":
            # a big page cache for this connection only: the indexes of 100 000 clients stay
            # in memory while they are filled (the app's own connections keep the default)
            conn.exec_driver_sql("PRAGMA cache_size = -262144")

    def write(self, table: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if not self.copy:
            self.conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
            return
        raw = self.conn.connection.driver_connection
        names = ", ".join(columns)
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def reset_sequences(self, tables: Iterable[Any]) -> None:
        if self.conn.dialect.name != "postgresql":
            return
        for table in tables:
            self.conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608
                    f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
                )
            )


def build(
    *,
    clients: int,
    world: World,
    first_client_id: int,
    first_contact_id: int,
    seed: int = 42,
    contacts_per_client: float = 2.5,
    chunk: int = 5000,
) -> Iterator[_Chunk]:
    """The rows of the generated base, `chunk` clients at a time."""
    contact_id = first_contact_id
    for start in range(0, clients, chunk):
        batch = _Chunk()
        for index in range(start, min(start + chunk, clients)):
            spec = make_base_client(seed, index, contacts_per_client)
            rows = _rows_for(spec, first_client_id + index, contact_id, world, seed)
            contact_id += len(spec.contacts)
            batch.clients += rows.clients
            batch.contacts += rows.contacts
            batch.channels += rows.channels
            batch.members += rows.members
            batch.participations += rows.participations
        yield batch


def generate(
    conn: Connection,
    *,
    clients: int,
    world: World,
    seed: int = 42,
    contacts_per_client: float = 2.5,
    chunk: int = 5000,
    progress: Callable[[int, int], None] | None = None,
    cache: dict[Any, list[_Chunk]] | None = None,
) -> GenerationStats:
    """Insert `clients` generated clients with their contacts, channels and group memberships.

    `cache` (any dict) keeps the built rows, so a second database of the same run gets the very
    same rows without building them again (the building is most of the time).
    """
    started = time.perf_counter()
    writer = Writer(conn)
    stats = GenerationStats()
    first_client_id = _next_id(conn, Client.__table__)
    first_contact_id = _next_id(conn, ContactPerson.__table__)
    key = (
        clients,
        seed,
        contacts_per_client,
        chunk,
        first_client_id,
        first_contact_id,
        repr(world),
    )
    cached = cache.get(key) if cache is not None else None
    chunks: Iterable[_Chunk] = cached or build(
        clients=clients,
        world=world,
        first_client_id=first_client_id,
        first_contact_id=first_contact_id,
        seed=seed,
        contacts_per_client=contacts_per_client,
        chunk=chunk,
    )
    kept: list[_Chunk] = []
    for batch in chunks:
        if cache is not None and cached is None:
            kept.append(batch)
        writer.write(Client.__table__, CLIENT_COLUMNS, batch.clients)
        writer.write(ContactPerson.__table__, CONTACT_COLUMNS, batch.contacts)
        writer.write(ContactChannel.__table__, CHANNEL_COLUMNS, batch.channels)
        writer.write(client_group_members, MEMBER_COLUMNS, batch.members)
        writer.write(CompetitorParticipation.__table__, PARTICIPATION_COLUMNS, batch.participations)
        stats.clients += len(batch.clients)
        stats.contacts += len(batch.contacts)
        stats.channels += len(batch.channels)
        stats.memberships += len(batch.members)
        stats.participations += len(batch.participations)
        if progress:
            progress(stats.clients, clients)
    if cache is not None and cached is None:
        cache[key] = kept
    stats.reused = cached is not None
    writer.reset_sequences(
        [
            Client.__table__,
            ContactPerson.__table__,
            ContactChannel.__table__,
            ClientGroup.__table__,
            CompetitorExhibition.__table__,
            CompetitorParticipation.__table__,
        ]
    )
    stats.seconds = time.perf_counter() - started
    return stats


# --- the import file ----------------------------------------------------------------------------

XLSX_HEADERS = [
    "Наименование",
    "Полное наименование",
    "Вид",
    "ИНН",
    "КПП",
    "ОГРН",
    "Регион",
    "Город",
    "Юридический адрес",
    "Почтовый адрес",
    "Отрасль",
    "Сайт",
    "Источник",
    "Готовность",
    "Согласие на рассылку",
    "Внешний код",
    "Примечание",
    "Контактное лицо",
    "Должность",
    "Телефон",
    "E-mail",
]
KIND_TITLES = {"legal": "Юридическое лицо", "sole_trader": "ИП", "person": "Физическое лицо"}


def _human_phone(e164: str, rng: _Random) -> str:
    d = e164[2:]  # 10 digits after +7
    style = rng.random()
    if style < 0.4:
        return f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}"
    if style < 0.7:
        return f"8 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}"
    if style < 0.9:
        return f"8{d}"
    return e164


def import_row_indexes(rows: int, base_clients: int, repeat_share: float = 0.1) -> Iterator[int]:
    """Indexes of the clients in the import file: ~10 % repeat clients of the base (same ИНН)."""
    step = round(1 / repeat_share) if repeat_share else 0
    for row in range(rows):
        if step and base_clients and row % step == step - 1:
            yield (row * 7919) % base_clients
        else:
            yield base_clients + row


def import_row(spec: ClientSpec, rng: _Random) -> list[Any]:
    contact = spec.contacts[0] if spec.contacts else None
    return [
        spec.name,
        spec.full_name,
        KIND_TITLES[spec.kind],
        spec.inn,
        spec.kpp,
        spec.ogrn,
        spec.region,
        spec.city,
        spec.legal_address,
        spec.postal_address,
        spec.industry,
        spec.website,
        spec.source,
        spec.readiness,
        "да" if spec.mailing_consent else "нет",
        None,  # the external code would clash with the base's 1C codes
        spec.notes,
        contact.full_name if contact else None,
        contact.position if contact else None,
        ", ".join(_human_phone(p, rng) for p in contact.phones) if contact else None,
        ", ".join(contact.emails) if contact else None,
    ]


def write_import_xlsx(
    path: Path,
    *,
    rows: int,
    base_clients: int,
    seed: int = 42,
    headers: list[str] | None = None,
    row_builder: Callable[[ClientSpec, _Random], list[Any]] = import_row,
    excel_like: bool = True,
) -> Path:
    """An XLSX of `rows` client rows with Russian headers (openpyxl write-only: flat memory)."""
    from openpyxl import Workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Контрагенты")
    sheet.append(headers or XLSX_HEADERS)
    rng = _Random(seed)
    for index in import_row_indexes(rows, base_clients):
        sheet.append(row_builder(make_client(seed, index), rng))
    tmp = path.with_suffix(".tmp.xlsx")
    workbook.save(tmp)
    if excel_like:
        _like_excel(tmp, rows=rows + 1, columns=len(headers or XLSX_HEADERS))
    tmp.replace(path)
    return path


_INLINE = re.compile(r'<c r="([A-Z]+\d+)" t="inlineStr"><is><t(?: [^>]*)?>(.*?)</t></is></c>', re.S)
_EMPTY_INLINE = re.compile(r'<c r="[A-Z]+\d+" t="inlineStr" ?/>')


def _like_excel(path: Path, *, rows: int, columns: int) -> None:
    """Rewrite openpyxl's write-only output the way Excel saves a book.

    Excel keeps text in a shared-string table (which a reader has to hold in memory) and writes
    the sheet's <dimension>; openpyxl's write-only mode writes inline strings and no dimension.
    An import benchmark on the latter would miss both costs.
    """
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    sheet_name = "xl/worksheets/sheet1.xml"
    sheet = members[sheet_name].decode("utf-8")
    strings: dict[str, int] = {}
    count = 0

    def shared(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        index = strings.setdefault(match.group(2), len(strings))
        return f'<c r="{match.group(1)}" t="s"><v>{index}</v></c>'

    sheet = _EMPTY_INLINE.sub("", _INLINE.sub(shared, sheet))
    last_column = ""
    n = columns
    while n:
        n, rem = divmod(n - 1, 26)
        last_column = chr(65 + rem) + last_column
    sheet = sheet.replace(
        "<sheetData>", f'<dimension ref="A1:{last_column}{rows}" /><sheetData>', 1
    )
    table = "".join(f'<si><t xml:space="preserve">{text}</t></si>' for text in strings)
    members[sheet_name] = sheet.encode("utf-8")
    members["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{count}" uniqueCount="{len(strings)}">{table}</sst>'
    ).encode()
    members["xl/_rels/workbook.xml.rels"] = (
        members["xl/_rels/workbook.xml.rels"]
        .decode()
        .replace(
            "</Relationships>",
            '<Relationship Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/sharedStrings" Target="sharedStrings.xml" Id="rIdShared" />'
            "</Relationships>",
        )
        .encode()
    )
    members["[Content_Types].xml"] = (
        members["[Content_Types].xml"]
        .decode()
        .replace(
            "</Types>",
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml" /></Types>',
        )
        .encode()
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)
