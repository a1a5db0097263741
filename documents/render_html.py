"""HTML/CSS → PDF with WeasyPrint, with a URL fetcher that reaches only our own assets.

WeasyPrint's default fetcher reads any file:// path and any http host (and `<link
rel="attachment">` embeds what it fetched into the PDF). Ours allows `data:` URLs and files inside
the given asset folders; everything else is refused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2.exceptions import SecurityError, TemplateError
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from documents.sandbox import (
    PlaceholderReport,
    check_placeholders,
    describe_error,
    placeholder_paths,
    render_string,
)

ASSETS = Path(__file__).resolve().parent / "assets"


class RestrictedURLFetcher(URLFetcher):
    """Serves `data:` and files under the allowed folders; refuses every other URL."""

    def __init__(self, allowed_dirs: Iterable[Path] = (), **kwargs):
        super().__init__(allowed_protocols=("data", "file"), timeout=5, **kwargs)
        self.allowed_dirs = [Path(d).resolve() for d in (ASSETS, *allowed_dirs)]

    def fetch(self, url: str, headers=None):  # noqa: ANN201 (WeasyPrint's own response type)
        parts = urlsplit(url)
        if parts.scheme == "data":
            return super().fetch(url, headers)
        if parts.scheme == "file" and not parts.netloc:
            path = Path(unquote(parts.path)).resolve()
            if path.is_file() and any(path.is_relative_to(d) for d in self.allowed_dirs):
                return super().fetch(url, headers)
        raise ValueError(f"Загрузка ресурса запрещена: {url[:200]}")


_local = threading.local()


def font_config() -> FontConfiguration:
    """One FontConfiguration per thread, reused across documents.

    A fresh one per render (WeasyPrint's default) re-initialises fontconfig and Pango's font map
    every time: measured by bench/documents.py as a third of a one-page invoice's render time.
    Per thread, because Pango's font map is not safe to share between threads.
    """
    config = getattr(_local, "font_config", None)
    if config is None:
        config = _local.font_config = FontConfiguration()
    return config


def render_pdf(html: str, *, allowed_dirs: Iterable[Path] = (), reuse_fonts: bool = True) -> bytes:
    """Render trusted-structure HTML (values already escaped by an autoescaping template)."""
    fetcher = RestrictedURLFetcher(allowed_dirs)
    document = HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=fetcher)
    if reuse_fonts:
        return document.write_pdf(font_config=font_config())
    return document.write_pdf()


def render_template_pdf(
    source: str,
    context: dict[str, Any],
    *,
    preview: bool = False,
    allowed_dirs: Iterable[Path] = (),
) -> bytes:
    """An HTML/CSS document template → PDF: sandboxed Jinja first, then the restricted fetcher."""
    return render_pdf(render_string(source, context, preview=preview), allowed_dirs=allowed_dirs)


def check_html_template(source: str, known: set[str]) -> tuple[list[str], PlaceholderReport]:
    """Parse an uploaded HTML template; errors and the placeholder report (nothing rendered)."""
    try:
        paths = placeholder_paths(source)
    except (TemplateError, SecurityError) as err:
        return [describe_error(err)], PlaceholderReport()
    return [], check_placeholders(paths, known)
