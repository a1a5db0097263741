"""Writing and restoring a backup archive (tar.gz).

Layout: `manifest.json` (format, time, database kind and revision, every table's row count,
every member's SHA-256 and size, every issued document file's SHA-256), `database.sqlite3` or
`database.pgdump` (pg_dump's custom format), and `storage/…` (the file storage: imports, batch
printing results). Issued documents, stamps and uploaded templates are rows of the database,
so the database part carries them; their hashes are checked after a restore.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from sqlalchemy import Engine, func, inspect, select, table, text

from erp_crm.db import Base, utcnow

FORMAT = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the user (Russian)."""


@dataclass
class RestoreReport:
    tables: int
    rows: int
    documents: int
    files: int


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- what the database holds -------------------------------------------------------------------


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows of every table of the app's metadata (and alembic_version where it exists)."""
    names = set(inspect(engine).get_table_names())
    counts = {}
    with engine.connect() as conn:
        for name in sorted(names):
            counts[name] = int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
    return counts


def document_hashes(engine: Engine) -> dict[str, str]:
    """{document file id: SHA-256 of its stored content} — computed from the bytes."""
    result = {}
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, content FROM document_files ORDER BY id"))
        for file_id, content in rows:
            result[str(file_id)] = hashlib.sha256(bytes(content or b"")).hexdigest()
    return result


def stored_document_hashes(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, sha256 FROM document_files ORDER BY id"))
        return {str(file_id): sha for file_id, sha in rows}


def revision(engine: Engine) -> str | None:
    if "alembic_version" not in inspect(engine).get_table_names():
        return None
    with engine.connect() as conn:
        return conn.scalar(text("SELECT version_num FROM alembic_version"))


# --- PostgreSQL tools ----------------------------------------------------------------------------


@dataclass
class _PgTarget:
    uri: str  # a libpq URI without the driver and options
    schema: str | None
    env: dict[str, str]


def _pg_target(url: str) -> _PgTarget:
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://", 1))
    query = parse_qs(parts.query)
    schema = None
    for option in query.pop("options", []):
        found = re.search(r"search_path=([A-Za-z0-9_]+)", unquote(option))
        if found:
            schema = found.group(1)
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    netloc = parts.netloc.rsplit("@", 1)
    host = netloc[-1]
    user = unquote(netloc[0].split(":", 1)[0]) if len(netloc) == 2 else None
    if user:
        env["PGUSER"] = user
    uri = urlunsplit(("postgresql", host, parts.path, "", ""))
    return _PgTarget(uri=uri, schema=schema, env=env)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"Не найдена программа {name} (пакет postgresql-client): без неё резервная копия "
            "PostgreSQL невозможна."
        )
    return path


def _major(version_text: str) -> int:
    found = re.search(r"(\d+)(?:\.(\d+))?", version_text)
    if not found:
        raise BackupError(f"Не удалось узнать версию: {version_text!r}.")
    return int(found.group(1))


def check_pg_dump(engine: Engine) -> str:
    """pg_dump's version must be at least the server's major version (an older one refuses)."""
    tool = _tool("pg_dump")
    out = subprocess.run(  # noqa: S603 - our own tool paths and arguments
        [tool, "--version"], capture_output=True, text=True, check=True
    ).stdout
    with engine.connect() as conn:
        server = str(conn.scalar(text("SHOW server_version")))
    if _major(out) < _major(server):
        raise BackupError(
            f"Версия pg_dump ({out.strip()}) старше сервера PostgreSQL ({server}): установите "
            f"postgresql-client-{_major(server)}."
        )
    return out.strip()


# --- backup --------------------------------------------------------------------------------------


def _dump_database(engine: Engine, url: str, folder: Path) -> Path:
    if engine.dialect.name == "sqlite":
        source_path = engine.url.database
        target = folder / "database.sqlite3"
        # The online backup API: a consistent copy while the app keeps writing.
        source = sqlite3.connect(source_path)
        try:
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
        return target
    check_pg_dump(engine)
    pg = _pg_target(url)
    target = folder / "database.pgdump"
    command = [
        _tool("pg_dump"),
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        f"--file={target}",
    ]
    if pg.schema:
        command.append(f"--schema={pg.schema}")
    command.append(pg.uri)
    done = subprocess.run(  # noqa: S603 - our own tool paths and arguments
        command, env=pg.env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump завершился с ошибкой: {done.stderr.strip()[:500]}")
    return target


def create_backup(engine: Engine, url: str, storage: Path, target_dir: Path) -> Path:
    """Write one archive into target_dir; its path. The archive appears whole or not at all."""
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    final = target_dir / f"backup-{stamp}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="erp-backup-") as tmp:
        folder = Path(tmp)
        counts = table_counts(engine)  # read before the dump: the figures of the copy follow
        database = _dump_database(engine, url, folder)
        members: dict[str, dict[str, Any]] = {
            database.name: {"sha256": _sha256_file(database), "size": database.stat().st_size}
        }
        files = []
        if storage.exists():
            for path in sorted(p for p in storage.rglob("*") if p.is_file()):
                name = "storage/" + path.relative_to(storage).as_posix()
                members[name] = {"sha256": _sha256_file(path), "size": path.stat().st_size}
                files.append((name, path))
        extensions: list[str] = []
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                extensions = list(
                    conn.scalars(
                        text(
                            "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' "
                            "ORDER BY extname"
                        )
                    )
                )
        manifest = {
            "format": FORMAT,
            "extensions": extensions,
            "created_at": utcnow().isoformat(),
            "database": engine.dialect.name,
            "revision": revision(engine),
            "tables": counts,
            "documents": stored_document_hashes(engine),
            "members": members,
        }
        partial = final.with_suffix(".partial")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(dt.datetime.now().timestamp())
            import io

            tar.addfile(info, io.BytesIO(data))
            tar.add(database, arcname=database.name)
            for name, path in files:
                tar.add(path, arcname=name)
        partial.rename(final)
    return final


def prune(target_dir: Path, keep: int) -> list[Path]:
    """Keep the newest `keep` archives; the removed ones."""
    archives = sorted(target_dir.glob("backup-*.tar.gz"))
    removed = archives[: max(0, len(archives) - keep)]
    for path in removed:
        path.unlink()
    return removed


# --- restore -------------------------------------------------------------------------------------


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST)
        data = tar.extractfile(member)
        assert data is not None
        manifest = json.loads(data.read().decode())
    except (KeyError, AssertionError, ValueError, UnicodeDecodeError) as err:
        raise BackupError(
            "Архив повреждён или не является резервной копией: нет описания (manifest.json)."
        ) from err
    if manifest.get("format") != FORMAT or not isinstance(manifest.get("members"), dict):
        raise BackupError("Неизвестный формат резервной копии.")
    return manifest


def verify_archive(archive: Path, into: Path) -> dict[str, Any]:
    """Unpack into `into` and check every member against the manifest; the manifest."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            manifest = _read_manifest(tar)
            expected = manifest["members"]
            seen = set()
            for member in tar.getmembers():
                if member.name == MANIFEST:
                    continue
                if member.name not in expected or not member.isfile():
                    raise BackupError(f"Архив повреждён: лишний файл «{member.name}».")
                target = into / member.name
                if not target.resolve().is_relative_to(into.resolve()):
                    raise BackupError(f"Архив повреждён: недопустимый путь «{member.name}».")
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with target.open("wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
                if _sha256_file(target) != expected[member.name]["sha256"]:
                    raise BackupError(
                        f"Архив повреждён: контрольная сумма «{member.name}» не совпадает."
                    )
                seen.add(member.name)
    except (tarfile.TarError, EOFError, OSError, ValueError) as err:  # zlib.error is OSError-ish
        raise BackupError(f"Архив повреждён и не читается: {err}.") from err
    missing = set(expected) - seen
    if missing:
        raise BackupError(f"Архив повреждён: нет файлов {', '.join(sorted(missing))}.")
    return manifest


def _ensure_empty(engine: Engine, storage: Path) -> None:
    ours = set(Base.metadata.tables) | {"alembic_version"}
    present = ours & set(inspect(engine).get_table_names())
    if present:
        raise BackupError(
            "Восстановление возможно только в пустую базу данных: в ней уже есть таблицы "
            f"({', '.join(sorted(present)[:5])}…)."
        )
    if storage.exists() and any(p.is_file() for p in storage.rglob("*")):
        raise BackupError(f"Восстановление возможно только в пустое хранилище файлов: {storage}.")


def restore_backup(archive: Path, engine: Engine, url: str, storage: Path) -> RestoreReport:
    """Restore an archive into an empty database and storage; checks counts and documents."""
    if not archive.is_file():
        raise BackupError(f"Файл резервной копии не найден: {archive}.")
    with tempfile.TemporaryDirectory(prefix="erp-restore-") as tmp:
        folder = Path(tmp)
        manifest = verify_archive(archive, folder)
        if manifest["database"] != engine.dialect.name:
            raise BackupError(
                f"Копия сделана с базы {manifest['database']}, а восстанавливается в "
                f"{engine.dialect.name}: так нельзя."
            )
        _ensure_empty(engine, storage)
        if engine.dialect.name == "sqlite":
            engine.dispose()
            Path(str(engine.url.database)).parent.mkdir(parents=True, exist_ok=True)
            source = sqlite3.connect(folder / "database.sqlite3")
            try:
                target = sqlite3.connect(engine.url.database)
                try:
                    source.backup(target)
                finally:
                    target.close()
            finally:
                source.close()
        else:
            # A dump of one schema leaves out the extensions its indexes use (pg_trgm).
            with engine.begin() as conn:
                for name in manifest.get("extensions") or []:
                    if not re.fullmatch(r"[a-z0-9_]+", name):
                        raise BackupError(f"Недопустимое имя расширения в описании: {name!r}.")
                    conn.execute(text(f'CREATE EXTENSION IF NOT EXISTS "{name}" SCHEMA public'))
            engine.dispose()
            pg = _pg_target(url)
            done = subprocess.run(  # noqa: S603 - our own tool paths and arguments
                [
                    _tool("pg_restore"),
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={pg.uri}",
                    str(folder / "database.pgdump"),
                ],
                env=pg.env,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise BackupError(f"pg_restore завершился с ошибкой: {done.stderr.strip()[:500]}")
        files = 0
        for name in manifest["members"]:
            if name.startswith("storage/"):
                target_path = storage / name[len("storage/") :]
                target_path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(folder / name, target_path)
                files += 1
    counts = table_counts(engine)
    if counts != manifest["tables"]:
        differ = sorted(
            k
            for k in set(counts) | set(manifest["tables"])
            if counts.get(k) != manifest["tables"].get(k)
        )
        raise BackupError(f"После восстановления не совпало число строк: {', '.join(differ)}.")
    hashes = document_hashes(engine)
    if hashes != manifest["documents"]:
        broken = sorted(
            k
            for k in set(hashes) | set(manifest["documents"])
            if hashes.get(k) != manifest["documents"].get(k)
        )
        raise BackupError(
            "После восстановления не совпали SHA-256 документов "
            f"(файлы № {', '.join(broken[:10])})."
        )
    return RestoreReport(
        tables=len(counts), rows=sum(counts.values()), documents=len(hashes), files=files
    )
