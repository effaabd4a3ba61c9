"""The console's runbook page: ``/console/runbook`` lists the integrations, and
``/console/runbook/NAME`` shows the same runbook ``seamline runbook`` writes.

One source: the page renders the Markdown of :func:`seamline.runbook.runbook` with
markdown-it-py (CommonMark, raw HTML off, so text from the store can only ever be text),
and ``…/NAME.md`` serves the Markdown itself, to download and hand over.
No postponed annotations here: FastAPI reads ``viewer`` (the console's Annotated
dependency) from each route's signature as it is defined.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from markdown_it import MarkdownIt

from seamline.errors import SeamlineError
from seamline.integration import Integration
from seamline.runbook import runbook
from seamline.store import Store

# "js-default" leaves raw HTML out and refuses javascript:/data: links, whatever the store holds.
_MD = MarkdownIt("js-default").enable("table")


def add_runbook_routes(router: APIRouter, store: Store, *, viewer: Any, render: Callable[..., HTMLResponse],
                       problem: Callable[..., HTMLResponse],
                       integration_of: Callable[[str], Integration | None],
                       names: Callable[[], list[str]]) -> None:
    """Add the runbook pages to the console's router (viewers may read them)."""

    @router.get("/runbook", response_class=HTMLResponse)
    def runbook_index(request: Request, user: viewer):
        return render(request, user, "runbook.html", names=names(), html="", shown="")

    def _text(name: str) -> tuple[str | None, str]:
        spec = integration_of(name)
        if spec is None:
            return None, (f"Seamline has no declaration of {name} at hand: it is not served "
                          "here and did not run on this store from a file here.")
        try:
            return runbook(store, spec), ""
        except SeamlineError as exc:
            return None, str(exc)

    @router.get("/runbook/{name}.md")
    def runbook_markdown(name: str, user: viewer) -> Response:
        text, why = _text(name)
        if text is None:
            return PlainTextResponse(why, status_code=404)
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="runbook-{name}.md"'})

    @router.get("/runbook/{name}", response_class=HTMLResponse)
    def runbook_page(request: Request, name: str, user: viewer):
        text, why = _text(name)
        if text is None:
            return problem(request, user, 404, "No runbook", why, back="/console/runbook")
        return render(request, user, "runbook.html", names=names(), html=_MD.render(text),
                      shown=name)


def integration_from_store(store: Store, name: str) -> Integration | None:
    """The integration's declaration from the file it last ran from, when that is here."""
    from pathlib import Path

    from sqlalchemy import select

    from seamline.integration import load_integration
    from seamline.store.tables import integrations

    with store.read() as conn:
        src = conn.execute(select(integrations.c.source)
                           .where(integrations.c.name == name)).scalar()
    if not src or not Path(src).is_file():
        return None
    try:
        return load_integration(src)
    except SeamlineError:
        return None
