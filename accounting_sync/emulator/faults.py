"""Fault injection for the emulator: what a real 1C, its web server or the network do to us.

A `FaultPlan` holds a queue of one-shot faults (each optionally limited to one operation), an
optional random fault (kinds + rate) and a constant delay for every SOAP call. Tests drive it
through the Python API or `POST /emulator/faults`; the CLI sets it from `--fault/--fault-rate`.

Kinds:
    delay       wait `seconds` before answering (the operation then runs normally)
    http500     HTTP 500 without a SOAP body; nothing is applied
    soap_fault  a SOAP Fault with 1C's error text (`message`); nothing is applied
    malformed   the operation runs and commits, the answer is broken XML with HTTP 200
    drop        the operation runs and commits, headers and half the body go out, then the
                connection is closed (the answer is lost: the sender must resend)
    redeliver   GetChanges answers with an already acknowledged message, under its old number
    dtd         the answer declares a DTD with entities (an XXE attempt); nothing is applied
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

FAULT_KINDS = ("delay", "http500", "soap_fault", "malformed", "drop", "redeliver", "dtd")
OPERATIONS = ("Ping", "PutCounterparties", "PutDocuments", "PutBudget", "GetChanges")

#: What 1C's web service says when a handler raises (the module/line part is 1C's format).
DEFAULT_FAULT_TEXT = (
    "Ошибка при вызове операции веб-сервиса ExpoExchange: {ВебСервис.ExpoExchange.Модуль(118)}: "
    "Не удалось записать документ: дата запрета изменения данных 31.12.2025, "
    "информационная база заблокирована для загрузки данных."
)


@dataclass(frozen=True)
class FaultSpec:
    """One fault: its kind, the operation it is limited to (None: any) and its parameters."""

    kind: str
    operation: str | None = None
    seconds: float = 0.0
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.operation is not None and self.operation not in OPERATIONS:
            raise ValueError(f"unknown operation {self.operation!r}")
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")

    def applies_to(self, operation: str) -> bool:
        """Whether this fault may hit a call of `operation`."""
        if self.operation is not None and self.operation != operation:
            return False
        return self.kind != "redeliver" or operation == "GetChanges"

    @property
    def text(self) -> str:
        """The SOAP Fault text of a soap_fault."""
        return self.message or DEFAULT_FAULT_TEXT

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultSpec:
        """Build from JSON data (unknown keys are an error: a typo must not go unnoticed)."""
        unknown = set(data) - {"kind", "operation", "seconds", "message"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return cls(
            kind=str(data.get("kind", "")),
            operation=data.get("operation"),
            seconds=float(data.get("seconds", 0) or 0),
            message=data.get("message"),
        )


class FaultPlan:
    """The emulator's current faults. Thread-safe: the server's threads call `take`."""

    def __init__(
        self,
        *,
        random_kinds: tuple[str, ...] = (),
        rate: float = 0.0,
        random_operation: str | None = None,
        random_seconds: float = 5.0,
        delay: float = 0.0,
        seed: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: deque[FaultSpec] = deque()
        self._rng = random.Random(seed)  # noqa: S311 - test chaos, not cryptography
        self._random: tuple[FaultSpec, ...] = ()
        self._rate = 0.0
        self.delay = delay
        self.set_random(random_kinds, rate, operation=random_operation, seconds=random_seconds)

    def add(
        self,
        kind: str,
        *,
        operation: str | None = None,
        seconds: float = 0.0,
        message: str | None = None,
        times: int = 1,
    ) -> FaultSpec:
        """Queue a one-shot fault (`times` copies) for the next matching call."""
        spec = FaultSpec(kind, operation, seconds, message)
        with self._lock:
            self._queue.extend([spec] * times)
        return spec

    def set_random(
        self,
        kinds: tuple[str, ...] | list[str],
        rate: float,
        *,
        operation: str | None = None,
        seconds: float = 5.0,
    ) -> None:
        """Hit a share `rate` (0…1) of the calls with one of `kinds`; empty kinds turn it off."""
        if not 0 <= rate <= 1:
            raise ValueError("rate must be within 0…1")
        specs = tuple(FaultSpec(k, operation, seconds) for k in kinds)
        with self._lock:
            self._random = specs
            self._rate = rate if specs else 0.0

    def clear(self) -> None:
        """No faults at all (queued, random, delay)."""
        with self._lock:
            self._queue.clear()
            self._random = ()
            self._rate = 0.0
            self.delay = 0.0

    def take(self, operation: str) -> FaultSpec | None:
        """The fault for this call, if any: the first matching queued one, else a random one."""
        with self._lock:
            for spec in self._queue:
                if spec.applies_to(operation):
                    self._queue.remove(spec)
                    return spec
            candidates = [s for s in self._random if s.applies_to(operation)]
            if candidates and self._rng.random() < self._rate:
                return self._rng.choice(candidates)
        return None

    def pending(self) -> list[FaultSpec]:
        """The queued one-shot faults."""
        with self._lock:
            return list(self._queue)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON data (what the control endpoint answers)."""
        with self._lock:
            random_part = None
            if self._random:
                first = self._random[0]
                random_part = {
                    "kinds": [s.kind for s in self._random],
                    "rate": self._rate,
                    "operation": first.operation,
                    "seconds": first.seconds,
                }
            return {
                "queue": [asdict(s) for s in self._queue],
                "random": random_part,
                "delay": self.delay,
            }

    def update(self, data: dict[str, Any]) -> None:
        """Apply a control request: {"clear", "add": [...], "random": {...}|null, "delay"}.

        Everything is validated before anything changes, so a bad request leaves the plan as is.
        """
        unknown = set(data) - {"clear", "add", "random", "delay"}
        if unknown:
            raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
        additions = [FaultSpec.from_dict(item) for item in data.get("add") or []]
        random_part = data.get("random", ...)
        if random_part not in (None, ...):
            if not isinstance(random_part, dict):
                raise ValueError("random must be an object or null")
            kinds = list(random_part.get("kinds") or [])
            rate = float(random_part.get("rate", 0))
            seconds = float(random_part.get("seconds", 5.0))
            operation = random_part.get("operation")
            for kind in kinds:
                FaultSpec(kind, operation, seconds)  # validates
            if not 0 <= rate <= 1:
                raise ValueError("rate must be within 0…1")
        delay = data.get("delay")
        if delay is not None and float(delay) < 0:
            raise ValueError("delay must not be negative")

        if data.get("clear"):
            self.clear()
        with self._lock:
            self._queue.extend(additions)
        if random_part is None:
            self.set_random((), 0.0)
        elif random_part is not ...:
            self.set_random(kinds, rate, operation=operation, seconds=seconds)
        if delay is not None:
            self.delay = float(delay)
