"""HTML/CSS → PDF with WeasyPrint, with a URL fetcher that reaches only our own assets.

WeasyPrint's default fetcher reads any file:// path and any http host (and `<link
rel="attachment">` embeds what it fetched into the PDF). Ours allows `data:` URLs and files inside
the given asset folders; everything else is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher

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


def render_pdf(html: str, *, allowed_dirs: Iterable[Path] = ()) -> bytes:
    """Render trusted-structure HTML (values already escaped by an autoescaping template)."""
    fetcher = RestrictedURLFetcher(allowed_dirs)
    return HTML(string=html, base_url=ASSETS.as_uri() + "/", url_fetcher=fetcher).write_pdf()
