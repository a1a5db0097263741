"""What the job engine can run: the areas' job handlers and periodic jobs, registered by name.

An area registers in its own module (imported by its package, like its receivers), e.g.

    from erp_crm.jobs import periodic

    @periodic("mailing.outbox", every=60, title="Отправка писем рассылок")
    def send_outbox() -> None: ...

`every` is seconds, or the name of a config key holding them (read at each scheduler tick).
A handler gets a `JobContext` (erp_crm.jobs.services) and is run by `services.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Handler:
    name: str
    func: Callable[[Any], None]
    title: str
    stall_seconds: int  # no heartbeat this long: the runner died, the request is taken over
    # Called in the cancelling transaction with (session, payload): the area marks its own row
    # (an import, a print job) as stopped; a running runner stops at its next heartbeat.
    on_cancel: Callable[[Any, dict[str, Any]], None] | None = None


@dataclass(frozen=True)
class Periodic:
    name: str
    func: Callable[[], None]
    title: str
    every: int | str

    def seconds(self, config: Mapping[str, Any]) -> int:
        value = config.get(self.every, 0) if isinstance(self.every, str) else self.every
        return max(1, int(value or 0))


HANDLERS: dict[str, Handler] = {}
PERIODIC: dict[str, Periodic] = {}


def handler(
    name: str,
    *,
    title: str,
    stall_seconds: int = 300,
    on_cancel: Callable[[Any, dict[str, Any]], None] | None = None,
) -> Callable[[Any], Any]:
    """Register `func(ctx)` as the job `name` (requested by `services.request_job`)."""

    def register(func: Callable[[Any], None]) -> Callable[[Any], None]:
        if name in HANDLERS and HANDLERS[name].func is not func:
            raise ValueError(f"job handler {name!r} registered twice")
        HANDLERS[name] = Handler(name, func, title, stall_seconds, on_cancel)
        return func

    return register


def periodic(name: str, *, every: int | str, title: str) -> Callable[[Any], Any]:
    """Register `func()` to run once per period of `every` seconds, whatever the workers."""

    def register(func: Callable[[], None]) -> Callable[[], None]:
        if name in PERIODIC and PERIODIC[name].func is not func:
            raise ValueError(f"periodic job {name!r} registered twice")
        PERIODIC[name] = Periodic(name, func, title, every)
        return func

    return register
