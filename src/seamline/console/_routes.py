"""The web console's pages: the review queue, timelines, dead letters, costs and flags.

Server-rendered with Jinja2 (autoescaped) so it works without JavaScript; who may see
or do what is the access layer's call (``access.page(role)``), and every form posts a
CSRF token and records the person who sent it.
"""

import json
import re
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from seamline.actions import (
    AWAITING,
    DONE,
    FAILED,
    PENDING,
    REJECTED,
    EditRefused,
    decide,
    outbox_row,
    resolve_in_doubt,
)
from seamline.console import _lists as lists
from seamline.console import _queries as q
from seamline.console._chain import ChainCheck
from seamline.console._evidence import QUOTE_FIELDS, laid_out, scrub_filter
from seamline.console._runbook import add_runbook_routes, integration_from_store
from seamline.errors import ConfigError, NotFound
from seamline.integration import PromptSpec
from seamline.prompt import PromptTemplate
from seamline.rollout import Flags, check_go_live, parse_state
from seamline.runtime import Pipeline, dead_letter, replay
from seamline.store import Store

_HERE = Path(__file__).parent
# Pages load only this server's stylesheet and post only to it; nothing may frame them.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; "
                               "img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Messages a redirect may name by key: a query string never carries text onto a page,
# and a notice shows only when the store agrees (the action named was decided so, the
# event was redriven, the flag exists); the id shown is the one found, not the one asked.
_NOTICES = {
    "approved": "Action {id} was approved and run.",
    "edited": "Action {id} was edited, approved and run.",
    "rejected": "Action {id} was rejected; it will never run.",
    "recorded": "Action {id}: the decision is recorded; this server does not run its integration.",
    "agent": ("Tool call {id}: the decision is recorded; the agent's run goes on when "
              "`seamline agent resume AGENT --decided` (or its --watch loop) picks it up."),
    "redriven": "Event {id} was redriven; its story below shows what came of it.",
    "flag": "Flag {id} was changed.",
    "verified": "The audit chain was verified just now.",
    "replayed": "Event {id} was replayed; nothing was acted on.",
    "resent": "Action {id} is sent again, with the same idempotency key.",
    "marked_done": "Action {id} was marked done; nothing was sent.",
    "cancelled": "Action {id} was cancelled; it will not run.",
}


# The outbox statuses each action notice is true of.
_DECIDED_AS = {"approved": {PENDING, DONE, FAILED}, "edited": {PENDING, DONE, FAILED},
               "rejected": {REJECTED}, "recorded": {PENDING, DONE, FAILED, REJECTED},
               "agent": {PENDING, DONE, FAILED, REJECTED},
               "resent": {PENDING, DONE, FAILED}, "marked_done": {DONE},
               "cancelled": {REJECTED}}
# An action in doubt: what the person found at the receiver -> the resolution and its notice.
_RESOLUTIONS = {"resend": "resent", "done": "marked_done", "cancel": "cancelled"}
_MAX_ID = 2**63 - 1  # the outbox's BIGINT: past it, no driver takes the number
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,39}")  # events.id is a String(40)
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,100}")


def _row_id(text: str) -> int | None:
    """A path's or query's action id: digits for 1 .. 2**63-1, else None (a 404, not a 500)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if 1 <= number <= _MAX_ID else None


def _event_id(text: str) -> str | None:
    return text if _EVENT_ID.fullmatch(text) else None


def _usd(value: float) -> str:
    """Dollars to the cent, or to six places below one dollar (as ``seamline costs`` prints)."""
    return f"${value:,.2f}" if abs(value) >= 1 else f"${value:.6f}"


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts)) if ts else "—"


_MAX_FORM_BYTES = 64 * 1024


async def _form(request: Request) -> dict[str, str]:
    """The posted urlencoded form (first value of each field); the console posts nothing else.

    Parsed here rather than with ``request.form()``: that needs python-multipart, and the
    access layer has read (and cached) the same body for its CSRF check already.
    """
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    if kind != "application/x-www-form-urlencoded" or (
            declared.isdigit() and int(declared) > _MAX_FORM_BYTES):
        return {}
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"),
                                         keep_blank_values=True).items()}


def install_console(app: FastAPI, store: Store, access: Any) -> None:
    """Mount the console under ``/console`` on ``app``; ``access`` is its AccessControl."""
    from seamline.access import Role, User

    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.filters.update(when=_when, usd=_usd, pretty=q.pretty, scrub=scrub_filter)
    chain = ChainCheck(store)
    flags = Flags(store, ttl=0.0)
    viewer, reviewer, admin = (access.page(r) for r in (Role.VIEWER, Role.REVIEWER, Role.ADMIN))
    csrf = [Depends(access.check_csrf)]
    # Annotated aliases, evaluated here (no postponed annotations in this module): FastAPI
    # reads them as dependencies, and each route's signature says the least role it needs.
    Viewer = Annotated[User, Depends(viewer)]
    Reviewer = Annotated[User, Depends(reviewer)]
    Admin = Annotated[User, Depends(admin)]
    Form = Annotated[dict[str, str], Depends(_form)]
    router = APIRouter(prefix="/console", include_in_schema=False)

    def notice_of(request: Request) -> str:
        """The banner a redirect asked for, if the store says it is so; else none."""
        code, ident = request.query_params.get("notice", ""), request.query_params.get("id", "")
        if code in _DECIDED_AS:
            outbox_id = _row_id(ident)
            try:
                row = outbox_row(store, outbox_id) if outbox_id is not None else None
            except NotFound:
                row = None
            return (_NOTICES[code].format(id=row.id)
                    if row is not None and row.status in _DECIDED_AS[code] else "")
        if code == "redriven" and _event_id(ident):
            row, entries = q.timeline(store, ident)
            redriven = row is not None and any(e.kind == "redrive" for e in entries)
            return _NOTICES[code].format(id=row.id) if redriven and row is not None else ""
        if code == "flag":
            return _NOTICES[code].format(id=ident) if ident in flag_rows() else ""
        if code == "replayed" and _event_id(ident):
            row = q.timeline(store, ident)[0]
            return _NOTICES[code].format(id=row.id) if row is not None else ""
        return _NOTICES["verified"] if code == "verified" else ""

    def render(request: Request, user: Any, name: str, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {
            "user": user, "csrf": access.csrf_token(request), "notice": notice_of(request),
            "Role": Role, "chain": chain.status, **context}, status_code=status_code,
            headers=_HEADERS)

    def problem(request: Request, user: Any, status_code: int, title: str, text: str,
                back: str = "/console") -> HTMLResponse:
        return render(request, user, "message.html", status_code, title=title, text=text,
                      back=back)

    def pipeline(integration: str) -> Pipeline | None:
        invoker = getattr(app.state, "invokers", {}).get(integration)
        return invoker.pipeline if invoker is not None else None

    def done(path: str, notice: str, ident: Any) -> RedirectResponse:
        return RedirectResponse(f"{path}?notice={notice}&id={ident}", status_code=303)

    @router.get("", response_class=HTMLResponse)
    def overview(request: Request, user: Viewer):
        return render(request, user, "overview.html", ov=q.overview(store))

    def served_names() -> list[str]:
        return sorted(getattr(app.state, "invokers", {}))

    def choices() -> dict[str, list[str]]:
        """Suggestions for the list filters: integrations known, actions served."""
        actions = sorted({a.name for n in served_names() if (p := pipeline(n)) is not None
                          for a in p.integration.actions})
        return {"integration": sorted({*q.known_integrations(store), *served_names()}),
                "action": actions, "age": list(lists.AGE_LABELS)}

    def list_page(request: Request, user: Any, name: str, path: str, default_order: str,
                  read: Any) -> HTMLResponse:
        query = lists.ListQuery.of(request.query_params, default_order)
        page = read(store, query)
        return render(request, user, name, page=page, path=path, choices=choices(),
                      ages=lists.AGE_LABELS)

    @router.get("/reviews", response_class=HTMLResponse)
    def reviews(request: Request, user: Viewer):
        return list_page(request, user, "reviews.html", "/console/reviews", "asc",
                         lists.review_page)

    @router.get("/events", response_class=HTMLResponse)
    def event_list(request: Request, user: Viewer):
        return list_page(request, user, "events.html", "/console/events", "desc",
                         lists.event_page)

    def no_such_action(request: Request, user: Any) -> HTMLResponse:
        return problem(request, user, 404, "No such action",
                       "There is no action with that id.", "/console/reviews")

    def review_page(request: Request, user: Any, outbox_id: int, status_code: int = 200,
                    error: str = "", params_text: str | None = None) -> HTMLResponse:
        row = None
        try:
            row = outbox_row(store, outbox_id)
            p = pipeline(row.integration)
            declared = p.integration.grounding.quote_fields if p is not None else ()
            view = q.review(store, outbox_id, tuple(declared) or QUOTE_FIELDS)
        except NotFound as exc:
            return problem(request, user, 404, "No such action", str(exc), "/console/reviews")
        spec = next((a for a in p.integration.actions if a.name == view.action), None) if p else None
        handler = (spec.handler if isinstance(spec.handler, str) else
                   f"{spec.handler.__module__}.{spec.handler.__qualname__}") if spec else ""
        return render(request, user, "review.html", status_code, v=view, handler=handler,
                      reveals=bool(spec and spec.reveal_pii), served=p is not None,
                      can_decide=user.may(Role.REVIEWER) and view.status == AWAITING,
                      error=error,
                      params_text=params_text if params_text is not None else q.pretty(view.params))

    # Ids arrive as text and are checked here: FastAPI would pass a 200-digit number on to
    # the driver (OverflowError, a 500) and answer "abc" with a JSON 422 on an HTML page.
    @router.get("/reviews/{outbox_id}", response_class=HTMLResponse)
    def review(request: Request, outbox_id: str, user: Viewer):
        number = _row_id(outbox_id)
        if number is None:
            return no_such_action(request, user)
        return review_page(request, user, number)

    def settle(outbox_id: int, user: Any, request: Request, notice: str,
               **decision: Any) -> Response:
        try:
            row = decide(store, outbox_id, reviewer=user.username, **decision)
        except NotFound as exc:
            return problem(request, user, 409, "Already decided", str(exc), "/console/reviews")
        p = pipeline(row.integration)
        if p is None:
            agent_call = row.action.startswith("tool:")  # an agent's tool call, not an action
            return done("/console/reviews", "agent" if agent_call else "recorded", outbox_id)
        event = q.timeline(store, row.event_id)[0]
        p.finish_actions(row.event_id, (event.path if event else "") or "ai")
        return done("/console/reviews", notice, outbox_id)

    @router.post("/reviews/{outbox_id}/approve", dependencies=csrf)
    def approve(request: Request, outbox_id: str, user: Reviewer,
                form: Form):
        number = _row_id(outbox_id)
        if number is None:
            return no_such_action(request, user)
        return settle(number, user, request, "approved", approve=True,
                      comment=form.get("comment", "").strip())

    @router.post("/reviews/{outbox_id}/reject", dependencies=csrf)
    def reject(request: Request, outbox_id: str, user: Reviewer,
               form: Form):
        number = _row_id(outbox_id)
        if number is None:
            return no_such_action(request, user)
        comment = form.get("comment", "").strip()
        if not comment:
            return review_page(request, user, number, 422,
                               "A rejection needs a comment saying why.")
        return settle(number, user, request, "rejected", approve=False, comment=comment)

    @router.post("/reviews/{outbox_id}/resolve", dependencies=csrf)
    def resolve(request: Request, outbox_id: str, user: Reviewer, form: Form):
        """An action in doubt: resend it, mark it done or cancel it (seamline approvals
        resolve --resend | --done | --cancel), with what the person checked."""
        number = _row_id(outbox_id)
        if number is None:
            return no_such_action(request, user)
        resolution = form.get("resolution", "")
        comment = form.get("comment", "").strip()
        if resolution not in _RESOLUTIONS:
            return review_page(request, user, number, 422,
                               "Choose what became of the action: send it again, mark it "
                               "done, or cancel it.")
        if not comment:
            return review_page(request, user, number, 422,
                               "Say what you checked at the receiver; it goes to the audit "
                               "trail.")
        try:
            row = resolve_in_doubt(store, number, resolution,  # type: ignore[arg-type]
                                   reviewer=user.username, comment=comment)
        except NotFound as exc:
            return problem(request, user, 409, "Not in doubt", str(exc), "/console/reviews")
        p = pipeline(row.integration)
        if p is None:
            return done("/console/reviews", "recorded", number)
        event = q.timeline(store, row.event_id)[0]
        p.finish_actions(row.event_id, (event.path if event else "") or "ai")
        return done("/console/reviews", _RESOLUTIONS[resolution], number)

    @router.post("/reviews/{outbox_id}/edit", dependencies=csrf)
    def edit(request: Request, outbox_id: str, user: Reviewer,
             form: Form):
        number = _row_id(outbox_id)
        if number is None:
            return no_such_action(request, user)
        text = form.get("params", "")
        try:
            params = json.loads(text)
        except ValueError as exc:
            return review_page(request, user, number, 422,
                               f"The parameters are not valid JSON: {exc}.", text)
        if not isinstance(params, dict):
            return review_page(request, user, number, 422,
                               "The parameters must be a JSON object.", text)
        try:
            return settle(number, user, request, "edited", approve=True, edited_params=params,
                          comment=form.get("comment", "").strip())
        except (ConfigError, EditRefused) as exc:  # the edit does not fit the action
            return review_page(request, user, number, 422, str(exc), text)

    def no_such_event(request: Request, user: Any, title: str = "No such event",
                      back: str = "/console") -> HTMLResponse:
        return problem(request, user, 404, title, "There is no event with that id.", back)

    @router.get("/events/{event_id}", response_class=HTMLResponse)
    def event(request: Request, event_id: str, user: Viewer):
        if _event_id(event_id) is None:
            return no_such_event(request, user)
        row, entries = q.timeline(store, event_id)
        if row is None and not entries:
            return problem(request, user, 404, "No such event", f"There is no event {event_id}.")
        return render(request, user, "event.html", event_id=event_id, row=row, entries=entries,
                      actions=q.actions_of(store, event_id))

    @router.post("/audit/verify", dependencies=csrf)
    def verify_chain(user: Viewer, form: Form):
        chain.run(user.username)
        back = form.get("next", "")
        # Only back to a console page: a form field must not redirect anywhere else.
        back = back if back.startswith("/console") and "//" not in back else "/console"
        return RedirectResponse(back, status_code=303)

    @router.get("/dead-letters", response_class=HTMLResponse)
    def dead_letters(request: Request, user: Viewer):
        return list_page(request, user, "dead_letters.html", "/console/dead-letters", "desc",
                         lists.dead_letter_page)

    def replay_page(request: Request, user: Any, event_id: str, status_code: int = 200,
                    error: str = "") -> HTMLResponse:
        row = q.timeline(store, event_id)[0]
        if row is None:
            return no_such_event(request, user)
        versions = q.prompt_versions_of(store, row.integration)
        by_version = {v.version: v for v in versions}
        recorded = by_version.get(row.prompt_version)
        records = q.replays_of(store, event_id)
        seq = request.query_params.get("seq", "")
        shown = next((r for r in records if str(r.seq) == seq), records[-1] if records else None)
        p = pipeline(row.integration)
        served_version = ""
        if p is not None:
            spec = p.integration.prompt
            served_version = PromptTemplate(spec.user, spec.system, spec.params).version
        return render(request, user, "replay.html", status_code, row=row, versions=versions,
                      recorded=recorded, records=records, shown=shown, served=p is not None,
                      served_version=served_version, error=error,
                      diff=q.prompt_diff(recorded, by_version.get(shown.prompt_version)
                                         if shown else None))

    @router.get("/events/{event_id}/replay", response_class=HTMLResponse)
    def replay_view(request: Request, event_id: str, user: Viewer):
        if _event_id(event_id) is None:
            return no_such_event(request, user)
        return replay_page(request, user, event_id)

    @router.post("/events/{event_id}/replay", dependencies=csrf)
    def replay_run(request: Request, event_id: str, user: Reviewer, form: Form):
        if _event_id(event_id) is None:
            return no_such_event(request, user)
        row = q.timeline(store, event_id)[0]
        if row is None:
            return no_such_event(request, user)
        p = pipeline(row.integration)
        if p is None:
            return replay_page(request, user, event_id, 409,
                               f"This server does not run integration {row.integration}; "
                               "replay it where it runs (seamline replay).")
        version = form.get("version", "")
        chosen = next((v for v in q.prompt_versions_of(store, row.integration)
                       if v.version == version), None)
        if chosen is None:
            return replay_page(request, user, event_id, 422,
                               "Choose one of the prompt versions recorded for this integration.")
        try:
            params = json.loads(chosen.params) if chosen.params else {}
            spec = p.integration.model_copy(update={"prompt": PromptSpec(
                user=chosen.user, system=chosen.system, params=params)})
            replay(store, event_id, spec, provider=p.provider)
        except (NotFound, ConfigError, ValueError) as exc:
            return replay_page(request, user, event_id, 409, f"Could not replay: {exc}")
        return done(f"/console/events/{event_id}/replay", "replayed", event_id)

    @router.get("/dead-letters/{event_id}", response_class=HTMLResponse)
    def dead_letter_page(request: Request, event_id: str, user: Viewer):
        if _event_id(event_id) is None:
            return no_such_event(request, user, "Not a dead letter", "/console/dead-letters")
        try:
            item = dead_letter(store, event_id)
        except NotFound as exc:
            return problem(request, user, 404, "Not a dead letter", str(exc),
                           "/console/dead-letters")
        return render(request, user, "dead_letter.html", d=item,
                      actions=q.actions_of(store, event_id), fields=laid_out(item.input),
                      served=pipeline(item.integration) is not None)

    @router.post("/dead-letters/{event_id}/redrive", dependencies=csrf)
    def redrive(request: Request, event_id: str, user: Reviewer):
        if _event_id(event_id) is None:
            return no_such_event(request, user, "Not a dead letter", "/console/dead-letters")
        try:
            item = dead_letter(store, event_id)
        except NotFound as exc:
            return problem(request, user, 409, "Not a dead letter", str(exc),
                           "/console/dead-letters")
        p = pipeline(item.integration)
        if p is None:
            return problem(request, user, 409, "Not served here",
                           f"This server does not run integration {item.integration}; redrive "
                           "it where it runs (seamline dlq redrive).", "/console/dead-letters")
        try:
            p.redrive(event_id, actor=user.username)
        except NotFound as exc:
            return problem(request, user, 409, "Could not redrive", str(exc),
                           "/console/dead-letters")
        return done(f"/console/events/{event_id}", "redriven", event_id)

    @router.get("/costs", response_class=HTMLResponse)
    def costs(request: Request, user: Viewer, days: int = 31):
        from seamline.console._charts import bar_chart, column_chart

        days = min(max(days, 1), 366)
        report = q.costs(store, days)
        charts = {b: [(r.key, r.cost_usd) for r in report.by[b]]
                  for b in ("integration", "tenant", "day")}
        charts["day"] = q.every_day(report)
        return render(request, user, "costs.html", r=report, days=days, charts={
            "integration": bar_chart(charts["integration"], "Spend by integration", "c-int"),
            "tenant": bar_chart(charts["tenant"][:20], "Spend by tenant (top 20)", "c-ten"),
            "day": column_chart(charts["day"], "Spend by day", "c-day")})

    def flag_rows() -> dict[str, dict[str, Any]]:
        """Every flag this server knows: declared by its integrations, or set in the store."""
        rows: dict[str, dict[str, Any]] = {}
        for name, invoker in getattr(app.state, "invokers", {}).items():
            rollout = invoker.pipeline.integration.rollout
            if rollout.flag:
                default = parse_state(rollout.flag, rollout.default)
                rows[rollout.flag] = {"name": rollout.flag, "integration": name,
                                      "mode": default.mode, "percent": default.percent,
                                      "reason": "(the integration's default)", "at": None}
        for name, mode, pct, reason, at in flags.all():
            rows[name] = {**rows.get(name, {"integration": ""}), "name": name, "mode": mode,
                          "percent": pct, "reason": reason, "at": at}
        return dict(sorted(rows.items()))

    def flags_page(request: Request, user: Any, status_code: int = 200, error: str = "",
                   asked: dict[str, str] | None = None) -> HTMLResponse:
        return render(request, user, "flags.html", status_code, rows=flag_rows(), error=error,
                      asked=asked or {})

    @router.get("/flags", response_class=HTMLResponse)
    def flag_list(request: Request, user: Viewer):
        return flags_page(request, user)

    def checked_change(form: dict[str, str]) -> tuple[dict[str, Any] | None, Any, str]:
        rows = flag_rows()
        name, value = form.get("name", ""), form.get("value", "").strip()
        reason = form.get("reason", "").strip()
        if name not in rows:
            return None, None, f"There is no flag {name!r} here."
        if not reason:
            return rows[name], None, "A flag change needs a reason; it goes to the audit trail."
        try:
            state = parse_state(name, value)
            # Eval-first go-live, as `seamline flag set` checks it (docs/golden-signoff.md).
            owner = rows[name].get("integration") or None
            served = pipeline(owner) if owner else None
            check_go_live(store, served.integration if served is not None else owner,
                          flag=name, value=value)
            return rows[name], state, ""
        except ConfigError as exc:
            return rows[name], None, str(exc)

    @router.post("/flags/confirm", dependencies=csrf)
    def flag_confirm(request: Request, user: Admin, form: Form):
        current, new, error = checked_change(form)
        if error:
            return flags_page(request, user, 422, error, form)
        return render(request, user, "flag_confirm.html", current=current, new=new,
                      value=form["value"].strip(), reason=form["reason"].strip())

    @router.post("/flags/apply", dependencies=csrf)
    def flag_apply(request: Request, user: Admin, form: Form):
        current, new, error = checked_change(form)
        if error or current is None or new is None:
            return flags_page(request, user, 422, error, form)
        if form.get("confirm") != "yes":
            return flags_page(request, user, 422, "The change was not confirmed.", form)
        flags.set(new.name, form["value"].strip(), reason=form["reason"].strip(),
                  integration=current.get("integration", ""), actor=user.username)
        return done("/console/flags", "flag", new.name)

    def integration_of(name: str) -> Any:
        """The declaration served here, else the file it last ran from on this store."""
        served = pipeline(name)
        return served.integration if served is not None else integration_from_store(store, name)

    add_runbook_routes(router, store, viewer=Viewer, render=render, problem=problem,
                       integration_of=integration_of,
                       names=lambda: sorted({*q.known_integrations(store), *served_names()}))

    app.mount("/console/static", StaticFiles(directory=str(_HERE / "static")),
              name="console-static")
    app.include_router(router)
