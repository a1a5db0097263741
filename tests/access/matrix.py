"""The vocabulary of the route × role matrix: a row (Case) and the role sets it names. The rows
themselves are in test_access_matrix.py and in cases_<area>.py beside it."""

from __future__ import annotations

from dataclasses import dataclass, field

from erp_crm.auth.permissions import Role

ANY = frozenset(Role)


ADMIN = frozenset({Role.ADMIN})


PUBLIC = "public"


@dataclass(frozen=True)
class Case:
    endpoint: str
    method: str
    path: str
    allowed: frozenset[Role] | str  # roles, or PUBLIC
    ok: int = 200  # the answer for an allowed caller
    data: dict = field(default_factory=dict)
    anonymous: int | None = None  # the answer for anonymous callers of a PUBLIC route
    logged_in: int | None = None  # the answer for logged-in callers of a PUBLIC route
