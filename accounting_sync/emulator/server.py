"""Running the emulator: werkzeug's threaded HTTP server around `EmulatorApp`.

    server = start_emulator(tmp_path / "1c.sqlite3", password="секрет")   # port 0: any free
    client = AccountingClient(server.url, server.username, server.password)
    ...
    server.stop()

The CLI (`flask accounting emulator`) uses the same class in the foreground.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from accounting_sync.emulator.app import SERVICE_PATH, EmulatorApp
from accounting_sync.emulator.faults import FaultPlan, FaultSpec
from accounting_sync.emulator.storage import EmulatorStorage

log = logging.getLogger(__name__)

#: 1C exchange users are usually called like this; Cyrillic on purpose (UTF-8 Basic auth).
DEFAULT_USER = "Обмен"


class EmulatorServer:
    """An emulator listening on host:port (port 0 picks a free one), started or not."""

    def __init__(
        self,
        storage: EmulatorStorage,
        *,
        password: str,
        username: str = DEFAULT_USER,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
    ) -> None:
        self.storage = storage
        self.username = username
        self.password = password
        self._stopping = threading.Event()
        self.app = EmulatorApp(
            storage,
            username=username,
            password=password,
            faults=faults or FaultPlan(),
            stopping=self._stopping,
        )
        self._server: BaseWSGIServer = make_server(host, port, self.app, threaded=True)
        self.host = host
        self.port = self._server.server_port
        self._thread: threading.Thread | None = None

    @property
    def faults(self) -> FaultPlan:
        """The live fault plan (change it between calls)."""
        return self.app.faults

    @property
    def base_url(self) -> str:
        """http://host:port without a trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The web service's address (what the app's ACCOUNTING_URL should be)."""
        return self.base_url + SERVICE_PATH

    @property
    def wsdl_url(self) -> str:
        """Where the WSDL is served (1C's `?wsdl`)."""
        return self.url + "?wsdl"

    @property
    def page_url(self) -> str:
        """The HTML page for entering payments."""
        return self.base_url + "/emulator/"

    def inject(self, kind: str, **params: object) -> FaultSpec:
        """Queue a one-shot fault, e.g. `inject("soap_fault", operation="PutDocuments")`."""
        return self.faults.add(kind, **params)  # type: ignore[arg-type]

    def start(self) -> EmulatorServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"accounting-emulator-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the CLI)."""
        try:
            self._server.serve_forever()
        finally:
            self._stopping.set()
            self._server.server_close()

    def stop(self) -> None:
        """Stop listening and release the port. Nothing is lost: every call has committed."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_emulator(
    db_path: str | Path,
    *,
    password: str,
    username: str = DEFAULT_USER,
    host: str = "127.0.0.1",
    port: int = 0,
    nodes: Iterable[str] = ("CRM",),
    faults: FaultPlan | None = None,
    today: Callable[[], date] | None = None,
) -> EmulatorServer:
    """Open (or create) the SQLite file and serve it in a background thread (tests, scripts)."""
    storage = EmulatorStorage(db_path, nodes=nodes, today=today)
    server = EmulatorServer(
        storage, password=password, username=username, host=host, port=port, faults=faults
    )
    return server.start()


def stored_password(storage: EmulatorStorage) -> str:
    """The emulator's own password: generated once, kept in its SQLite file across restarts."""
    value = storage.setting("password", lambda: secrets.token_urlsafe(12))
    assert value is not None
    return value
