"""DOCX templates (docxtpl) rendered in the sandbox, and checks for uploaded DOCX templates.

docxtpl's own default is a bare Jinja environment without escaping: a client named «Рога & Копыта»
would corrupt document.xml and an uploaded template could run code. We always pass the sandboxed,
autoescaping environment of documents.sandbox.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2.exceptions import SecurityError, TemplateError

from documents.sandbox import (
    PlaceholderReport,
    TemplateProblem,
    check_placeholders,
    describe_error,
    make_env,
    placeholder_paths,
)

MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
MAX_ENTRIES = 300
MAX_UNPACKED = 60 * 1024 * 1024
IMAGE_KEYS = ("stamp", "signature", "accountant_signature")


@dataclass
class DocxCheck:
    errors: list[str] = field(default_factory=list)
    placeholders: PlaceholderReport = field(default_factory=PlaceholderReport)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.placeholders.unknown


def _check_zip(data: bytes) -> list[str]:
    if len(data) > MAX_TEMPLATE_BYTES:
        return [f"Файл шаблона больше {MAX_TEMPLATE_BYTES // (1024 * 1024)} МБ."]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return ["Файл не является документом Word (DOCX)."]
    if len(infos) > MAX_ENTRIES:
        return ["В архиве DOCX слишком много частей."]
    if sum(i.file_size for i in infos) > MAX_UNPACKED:
        return ["Документ DOCX распаковывается в слишком большой объём."]
    names = {i.filename for i in infos}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        return ["Файл не является документом Word (DOCX): нет word/document.xml."]
    if any(i.filename.startswith("/") or ".." in i.filename.split("/") for i in infos):
        return ["Недопустимые пути внутри архива DOCX."]
    return []


def _template_source(tpl: DocxTemplate) -> str:
    """The Jinja source docxtpl will render (body, headers and footers), after its XML clean-up."""
    tpl.init_docx()
    parts = [tpl.patch_xml(tpl.get_xml())]
    for _rel, part in tpl.get_headers_footers(tpl.HEADER_URI):
        parts.append(tpl.patch_xml(tpl.get_part_xml(part)))
    for _rel, part in tpl.get_headers_footers(tpl.FOOTER_URI):
        parts.append(tpl.patch_xml(tpl.get_part_xml(part)))
    return "\n".join(parts)


def check_docx_template(data: bytes, known: set[str]) -> DocxCheck:
    """Size, zip structure, parse, and every placeholder known; nothing is rendered."""
    result = DocxCheck(errors=_check_zip(data))
    if result.errors:
        return result
    try:
        tpl = DocxTemplate(io.BytesIO(data))
        source = _template_source(tpl)
        result.placeholders = check_placeholders(placeholder_paths(source), known)
    except (TemplateError, SecurityError) as err:
        result.errors.append(describe_error(err))
    except Exception as err:  # noqa: BLE001 - python-docx/lxml raise many kinds on broken files
        result.errors.append(f"Документ DOCX не читается: {type(err).__name__}.")
    return result


def render_docx(data: bytes, context: dict[str, Any], *, preview: bool = False) -> bytes:
    """Render a DOCX template with plain-data context; images under IMAGE_KEYS may be bytes."""
    problems = _check_zip(data)
    if problems:
        raise TemplateProblem(problems[0])
    tpl = DocxTemplate(io.BytesIO(data))
    ctx = dict(context)
    for key in IMAGE_KEYS:
        image = ctx.get(key)
        if isinstance(image, bytes | bytearray) and image:
            ctx[key] = InlineImage(tpl, io.BytesIO(bytes(image)), height=Mm(30))
        else:
            ctx[key] = ""
    try:
        tpl.render(ctx, jinja_env=make_env(preview=preview), autoescape=True)
    except (TemplateError, SecurityError) as err:
        raise TemplateProblem(describe_error(err)) from err
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()
