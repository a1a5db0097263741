"""Bundles of issued files: a ZIP and one combined PDF."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from typing import BinaryIO

from pypdf import PdfReader, PdfWriter


def write_zip(target: BinaryIO, entries: Iterable[tuple[str, bytes]]) -> None:
    """Stream entries into a ZIP one by one (a batch of 500 never sits in memory at once)."""
    seen: set[str] = set()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            unique, i = name, 1
            while unique in seen:
                stem, dot, ext = name.rpartition(".")
                unique = f"{stem} ({i}){dot}{ext}" if dot else f"{name} ({i})"
                i += 1
            seen.add(unique)
            archive.writestr(unique, data)


def zip_bytes(entries: Iterable[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    write_zip(out, entries)
    return out.getvalue()


def is_readable_pdf(data: bytes) -> bool:
    """True when pypdf opens the file and finds at least one page (not just a %PDF header)."""
    try:
        return len(PdfReader(io.BytesIO(data)).pages) > 0
    except Exception:  # noqa: BLE001 - pypdf raises many kinds on broken files
        return False


def merge_pdfs(pdfs: Iterable[bytes]) -> bytes:
    writer = PdfWriter()
    for data in pdfs:
        writer.append(PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
