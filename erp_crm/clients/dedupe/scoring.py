"""How alike two clients are: the signals of a duplicate, each with a score (0–100) and a
Russian reason, and how they add up.

- the same ИНН and КПП (or the same ИНН where neither has a КПП) — the same legal entity (100);
  the same ИНН with another КПП is a branch — a weak signal;
- a near-identical name in the same city: `token_sort_ratio` on `core.text.name_key` (legal form,
  quotes and punctuation dropped, ё = е; «Техно-Сервис» = «Техносервис»; «Завод 1» ≠ «Завод 2»),
  threshold NAME_THRESHOLD, candidates only from the same normalized city (`city_norm`);
- the same phone (E.164) or e-mail (lower-case) of a contact.

Several signals add a little to the strongest one; two different ИНН take a lot away (two legal
entities, however similar their names).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from erp_crm.core import text

NAME_THRESHOLD = 88  # token_sort_ratio of name keys from which two names count as "similar"
DEFAULT_MIN_SCORE = 75  # the duplicates page hides weaker pairs unless asked
# A phone or e-mail shared by more clients than this is a switchboard or a shared mailbox (a
# business centre, an agency), not a sign of a duplicate; it is ignored by candidate_pairs.
MAX_CLIENTS_PER_CHANNEL = 10
MIN_KEY_LENGTH = 2

SCORE_INN_KPP = 100
SCORE_INN = 95  # the same ИНН, a КПП on one side only
SCORE_BRANCH = 60  # the same ИНН, another КПП
SCORE_CHANNEL = 80
NAME_WEIGHT = 0.9  # an identical name in the same city scores 90
BONUS_PER_SIGNAL = 5
PENALTY_OTHER_INN = 30


@dataclass
class Evidence:
    inn: str | None = None  # "exact" | "no_kpp" | "same" | "branch"
    name: int | None = None  # similarity of the name keys, 0–100
    city_known: bool = True
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    other_inn: bool = False  # both have an ИНН and they differ

    def score(self) -> tuple[int, list[str]]:
        parts: list[tuple[int, str]] = []
        if self.inn == "exact":
            parts.append((SCORE_INN_KPP, "тот же ИНН и КПП"))
        elif self.inn == "no_kpp":  # ИП, физлица: the ИНН alone names them
            parts.append((SCORE_INN_KPP, "тот же ИНН"))
        elif self.inn == "same":
            parts.append((SCORE_INN, "тот же ИНН"))
        elif self.inn == "branch":
            parts.append((SCORE_BRANCH, "тот же ИНН, другой КПП"))
        if self.name is not None:
            where = "в том же городе" if self.city_known else "(город не указан у обоих)"
            reason = (
                f"то же название {where}"
                if self.name >= 100
                else f"похожее название {where} ({self.name}%)"
            )
            parts.append((round(self.name * NAME_WEIGHT), reason))
        if self.phones:
            shown = ", ".join(text.display_phone(p) for p in sorted(self.phones))
            parts.append((SCORE_CHANNEL, f"тот же телефон контакта: {shown}"))
        if self.emails:
            parts.append(
                (SCORE_CHANNEL, "тот же e-mail контакта: " + ", ".join(sorted(self.emails)))
            )
        if not parts:
            return 0, []
        parts.sort(key=lambda p: -p[0])
        score = parts[0][0] + BONUS_PER_SIGNAL * (len(parts) - 1)
        reasons = [reason for _, reason in parts]
        if self.other_inn:
            score -= PENALTY_OTHER_INN
            reasons.append("но ИНН разные")
        return max(0, min(100, score)), reasons


def inn_relation(inn_a: str | None, kpp_a: str | None, inn_b: str | None, kpp_b: str | None):
    """("exact" | "no_kpp" | "same" | "branch" | None, other_inn) for two clients' requisites."""
    if not inn_a or not inn_b:
        return None, False
    if inn_a != inn_b:
        return None, True
    if not kpp_a and not kpp_b:
        return "no_kpp", False
    if kpp_a == kpp_b:
        return "exact", False
    if kpp_a and kpp_b:
        return "branch", False
    return "same", False


def name_keys(name: str | None) -> tuple[str, str]:
    """Two forms of the name key (core.text.name_key) that names are compared in:

    - the words sorted, numbers last — `ratio` on these is `token_sort_ratio`: «Плюс Сервис» =
      «Сервис Плюс»;
    - the words joined in their order — «Техно-Сервис» = «Техносервис» = «Техно Сервис».

    Cyrillic а–я is mapped one to one onto Latin-1 à–ÿ (after sorting, so the order is kept):
    rapidfuzz compares one-byte strings about twice as fast, with the same ratio.
    """
    words = text.name_key(name).split()
    in_order = "".join(words)
    words.sort(key=lambda w: (not w.isalpha(), w))
    return " ".join(words).translate(_ONE_BYTE), in_order.translate(_ONE_BYTE)


_ONE_BYTE = str.maketrans({chr(code): chr(0xE0 + code - 0x430) for code in range(0x430, 0x450)})
_DIGITS = re.compile(r"\d+")


def name_numbers(key: str) -> list[str]:
    """The numbers in a name: «Завод 1» and «Завод 2», «СМУ-5» and «СМУ-7» are different firms."""
    return sorted(_DIGITS.findall(key)) if _DIGITS.search(key) else []


def name_similarity(a: tuple[str, str], b: tuple[str, str]) -> float:
    """How alike two names are (0–100): `token_sort_ratio` of the name keys, 100 when the joined
    forms are identical, 0 when their numbers differ. (The joined forms are not compared fuzzily:
    without the spaces «Медмонтаж-Регион» and «Дормонтаж Регион» would look alike.)"""
    if a[1] == b[1]:
        return 100.0
    if name_numbers(a[0]) != name_numbers(b[0]):
        return 0.0
    return fuzz.ratio(a[0], b[0])


def clean_phones(phones: Iterable[str]) -> set[str]:
    return {p for p in (text.normalize_phone(str(raw)) for raw in phones) if p}


def clean_emails(emails: Iterable[str]) -> set[str]:
    return {str(e).strip().lower() for e in emails if str(e).strip()}
