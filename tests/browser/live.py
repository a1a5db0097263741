"""What the browser tests share: the app served on a free localhost port, and a logged-in page of
Debian's Chromium that collects what went wrong (script errors, console errors, failed requests).

The app runs in a background thread on its own SQLite file built by the migrations: the browser's
requests need committed data, so the rolled-back test transaction of the other tests cannot be
used here.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from werkzeug.serving import make_server

from tests.fixtures.app import PASSWORD, make_test_app

CHROMIUM = "/usr/bin/chromium"


def seed_user(session: Any, username: str, full_name: str, role: str) -> Any:
    """A user with the tests' password, made the acting user of the seeding session."""
    from erp_crm.auth import services as auth_services
    from erp_crm.db import set_actor

    user = auth_services.create_user(
        session,
        auth_services.UserData(
            username=username, full_name=full_name, role=role, password=PASSWORD
        ),
        actor=None,
    )
    set_actor(session, user)
    return user


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


_MIGRATED: list[Path] = []


def _migrated_sqlite() -> Path:
    """A SQLite file built by the migrations (seeds included) once per run; each test serves a
    copy of it (the migrations took ~2-3 s of every browser test's setup)."""
    if not _MIGRATED:
        folder = Path(tempfile.mkdtemp(prefix="browser-db-"))
        app = make_test_app("sqlite:///" + str(folder / "app.sqlite3"), folder / "instance")
        with app.app_context():
            flask_migrate.upgrade()
        app.extensions["erp_db"].engine.dispose()
        _MIGRATED.append(folder / "app.sqlite3")
    return _MIGRATED[0]


@contextmanager
def live_app(tmp: Path, seed: Callable[[Any], dict]) -> Iterator[tuple[str, Any, dict]]:
    """(base URL, app, what `seed(app)` returned) of the app served from `tmp`."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install the Debian package chromium (make system-deps)"
        )
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is missing")
    shutil.copyfile(_migrated_sqlite(), tmp / "app.sqlite3")
    app = make_test_app("sqlite:///" + str(tmp / "app.sqlite3"), tmp / "instance")
    data = seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app, data
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["erp_db"].engine.dispose()


@contextmanager
def logged_in_page(
    base_url: str,
    username: str,
    *,
    width: int = 1400,
    timeout_ms: int = 30_000,
    expected_failures: tuple[str, ...] = (),
    **context_options: Any,
) -> Iterator[Any]:
    """A Chromium page logged in as `username`; `page.problems` lists script errors, console
    errors and responses ≥ 400 (but the favicon and URLs ending in `expected_failures`, the
    refusals a test provokes on purpose)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(
            viewport={"width": width, "height": 1000}, locale="ru-RU", **context_options
        )
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.problems = []
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        # the browser's own line about a refused request is covered by the response check
        page.on(
            "console",
            lambda m: (
                page.problems.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        ignored = ("/favicon.ico", *expected_failures)
        page.on(
            "response",
            lambda r: (
                page.problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith(ignored)
                else None
            ),
        )
        page.goto(f"{base_url}/login")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        try:
            yield page
        finally:
            browser.close()
