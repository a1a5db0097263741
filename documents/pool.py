"""Rendering several documents at once on all cores.

WeasyPrint is pure Python for the most part: one process renders one document at a time. A
package (four PDFs and three DOCX) or a batch of invoices is rendered by a small process pool
instead, so a two-core server does it in about half the time. Tasks are plain data in and bytes
out (a template's text, a plain-data context), so nothing of the app crosses the process border.

`DOCUMENTS_RENDER_WORKERS` sets the pool size (default: the CPU count, at most 4); 0 or 1 renders
in the calling process. A pool that breaks (a worker killed) is replaced and the tasks are
rendered in the calling process, so a render never fails because of the pool itself.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from documents.render_docx import render_docx
from documents.render_html import render_template_pdf

_lock = threading.Lock()
_executor: Executor | None = None


@dataclass(frozen=True)
class RenderTask:
    engine: str  # "html" → PDF, "docx" → DOCX
    template: bytes | str
    context: dict[str, Any]
    preview: bool = False


def run_task(task: RenderTask) -> bytes:
    if task.engine == "docx":
        return render_docx(bytes(task.template), task.context, preview=task.preview)
    source = task.template if isinstance(task.template, str) else task.template.decode("utf-8")
    return render_template_pdf(source, task.context, preview=task.preview)


def workers() -> int:
    configured = os.environ.get("DOCUMENTS_RENDER_WORKERS")
    if configured is not None:
        return max(0, int(configured))
    return min(4, os.cpu_count() or 1)


def _pool() -> Executor:
    global _executor
    with _lock:
        if _executor is None:
            # forkserver: workers start from a clean process, not a copy of a threaded server
            # holding database connections.
            context = multiprocessing.get_context("forkserver")
            _executor = ProcessPoolExecutor(max_workers=workers(), mp_context=context)
        return _executor


def _reset() -> None:
    global _executor
    with _lock:
        if _executor is not None:
            _executor.shutdown(wait=False, cancel_futures=True)
        _executor = None


def render_all(tasks: list[RenderTask]) -> list[bytes]:
    """Render every task; results in the tasks' order. A task's own error is raised as is."""
    if len(tasks) <= 1 or workers() <= 1:
        return [run_task(t) for t in tasks]
    try:
        futures = [_pool().submit(run_task, t) for t in tasks]
        return [f.result() for f in futures]
    except BrokenProcessPool:
        _reset()
        return [run_task(t) for t in tasks]


def submit(task: RenderTask) -> Future:
    """Start one task on the pool and return its future at once (a pipeline keeps a few in
    flight while it prepares the next); rendered in the calling process when there is no pool
    or it broke."""
    if workers() > 1:
        try:
            return _pool().submit(run_task, task)
        except BrokenProcessPool:
            _reset()
    done: Future = Future()
    try:
        done.set_result(run_task(task))
    except Exception as err:  # noqa: BLE001 - handed to the caller through the future
        done.set_exception(err)
    return done


def warm_up() -> None:
    """Start the workers and load WeasyPrint in them (the first render in a process is slow)."""
    if workers() > 1:
        tiny = RenderTask("html", "<p>{{ x }}</p>", {"x": "ok"})
        render_all([tiny] * workers())
