"""An uploaded template is code: every render (the trial render at upload, the preview, the issue)
is bounded in output size and in time, with a Russian message, and nothing is stored; and a new
template is used for documents only once the admin has previewed and activated it."""

from __future__ import annotations

import io
import time

import pytest
from docx import Document as DocxDocument
from sqlalchemy import func, select

from documents.render_docx import render_docx
from documents.sandbox import TemplateProblem, render_string
from erp_crm.errors import ValidationError
from erp_crm.sales_documents import services, templates_admin
from erp_crm.sales_documents.models import DocumentTemplate
from erp_crm.sales_documents.template_store import shipped
from tests.fixtures.documents import make_deal

HEAD = "<p>{{ doc.number }} {{ doc.date }} {{ buyer.name }}</p>"


def _upload(db_session, admin, body: str, filename: str = "bomb.html"):
    return templates_admin.upload_template(
        db_session,
        kind="invoice",
        filename=filename,
        data=(HEAD + body).encode(),
        name=None,
        project=None,
        actor=admin,
    )


def _templates(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(DocumentTemplate))


def test_a_ten_megabyte_repetition_is_refused_before_it_is_built(db_session, admin):
    with pytest.raises(ValidationError, match="слишком много текста"):
        _upload(db_session, admin, "{{ 'A' * 10000000 }}")
    with pytest.raises(ValidationError, match="слишком много текста"):
        _upload(db_session, admin, "{{ ['A'] * 10000000 }}")
    assert _templates(db_session) == 0


def test_output_grown_by_a_loop_is_cut_at_the_limit(db_session, admin, monkeypatch):
    monkeypatch.setenv("DOCUMENTS_RENDER_MAX_CHARS", "100000")
    with pytest.raises(ValidationError, match="больше 100\u00a0000 знаков"):
        _upload(db_session, admin, "{% for i in range(50000) %}{{ buyer.name }}{% endfor %}")
    assert _templates(db_session) == 0
    # a real template stays far below it
    assert _upload(db_session, admin, "<p>Итого: {{ totals.amount|amount }}</p>").id


def test_nested_loops_are_stopped_by_the_time_limit(db_session, admin, monkeypatch):
    monkeypatch.setenv("DOCUMENTS_RENDER_SECONDS", "0.5")
    started = time.monotonic()
    with pytest.raises(ValidationError, match="дольше 0.5 с"):
        _upload(
            db_session,
            admin,
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        )
    assert time.monotonic() - started < 30  # 10¹⁰ iterations would take hours
    assert _templates(db_session) == 0


def test_a_huge_power_is_refused():
    with pytest.raises(TemplateProblem, match="степень"):
        render_string("{{ 7 ** 10000000 }}", {})
    assert render_string("{{ 2 ** 10 }}", {}) == "1024"


def test_docx_templates_are_bounded_the_same_way(monkeypatch):
    document = DocxDocument()
    document.add_paragraph("{{ 'Б' * 10000000 }}")
    out = io.BytesIO()
    document.save(out)
    with pytest.raises(TemplateProblem, match="слишком много текста"):
        render_docx(out.getvalue(), {})
    monkeypatch.setenv("DOCUMENTS_RENDER_SECONDS", "0.5")
    slow = DocxDocument()
    slow.add_paragraph(
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    )
    out = io.BytesIO()
    slow.save(out)
    with pytest.raises(TemplateProblem, match="дольше"):
        render_docx(out.getvalue(), {})


def test_a_new_template_waits_for_a_preview_and_an_activation(
    client,
    db_session,
    admin,
    api_token,
):
    html = shipped("invoice", "html").content.replace(b"</body>", b"<p>v2</p></body>")
    template = templates_admin.upload_template(
        db_session,
        kind="invoice",
        filename="v2.html",
        data=html,
        name="Счёт v2",
        project=None,
        actor=admin,
    )
    assert not template.is_active and template.previewed_at is None
    first = services.issue_document(
        db_session, make_deal(db_session, admin), "invoice", actor=admin
    )
    assert first.template_version.startswith("shipped:")  # the upload is not used yet
    with pytest.raises(ValidationError, match="Сначала откройте предпросмотр"):
        templates_admin.set_active(db_session, template, True, actor=admin)
    db_session.commit()

    headers = api_token("docadmin")
    refused = client.post(
        f"/api/v1/document-templates/{template.id}/active", json={"active": True}, headers=headers
    )
    assert refused.status_code == 422 and "предпросмотр" in refused.get_json()["error"]["message"]
    client.login("docadmin")
    listing = client.get("/documents/templates/").get_data(as_text=True)
    assert "ждёт предпросмотра" in listing
    assert client.get(f"/documents/templates/{template.id}/preview").data[:5] == b"%PDF-"
    answer = client.post(
        f"/api/v1/document-templates/{template.id}/active", json={"active": True}, headers=headers
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["is_active"] and answer.get_json()["previewed_at"]
    db_session.expire_all()
    second = services.issue_document(
        db_session, make_deal(db_session, admin, stand_no=1), "invoice", actor=admin
    )
    assert second.template_version == db_session.get(DocumentTemplate, template.id).version
