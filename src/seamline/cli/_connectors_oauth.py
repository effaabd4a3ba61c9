"""``seamline connectors auth`` and ``connectors status``: OAuth credentials of connectors.

``auth NAME`` bootstraps (or re-authorizes) a credential with the authorization-code flow
and PKCE, then runs the actions that waited for it; ``status`` shows each credential's
expiry, last refresh and state; ``refresh`` is in ``_connectors_refresh``. A credential is
found through ``connector:`` actions and through vendors chosen under ``vendors:`` for
``kind:`` actions alike. No token or client secret is ever printed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from seamline.cli._common import DbOption, JsonOption, console, fail, iso, print_json, store_for

if TYPE_CHECKING:
    from seamline.connectors import OAuthSettings
    from seamline.integration import Integration
    from seamline.store import Store


def register(app: typer.Typer) -> None:
    """Add the OAuth commands to ``seamline connectors``."""
    from seamline.cli._connectors_refresh import connectors_refresh

    app.command("auth")(connectors_auth)
    app.command("status")(connectors_status)
    app.command("refresh")(connectors_refresh)


def connectors_auth(
    name: Annotated[str, typer.Argument(help="The credential: the connector's name (hubspot) "
                                        "or the oauth.credential its options set")],
    integration: Annotated[str | None, typer.Option(
        help="Integration file declaring the connector (default: those run on this store)")] = None,
    code: Annotated[str | None, typer.Option(
        "--code", help="The redirect URL the browser landed on (or its code), pasted: "
                       "finishes an authorization started with --no-listen")] = None,
    listen: Annotated[bool, typer.Option(
        "--listen/--no-listen", help="Wait for the browser's redirect on 127.0.0.1 (the "
                                     "redirect_uri), or only print the URL")] = True,
    timeout_s: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the "
                                             "redirect")] = 300.0,
    db: DbOption = None,
) -> None:
    """Authorize a connector's OAuth credential (authorization code with PKCE): prints the
    URL to open, takes the redirect, keeps the tokens encrypted, runs what waited for it."""
    from seamline.connectors import (
        AuthorizationFailed,
        finish_authorization,
        listen_for_redirect,
        start_authorization,
    )
    from seamline.errors import ConfigError

    store = store_for(db)
    settings, connector, specs = _declared(store, name, integration)
    try:
        if code is None:
            url = start_authorization(store, settings, connector)
            typer.echo(f"Open this URL in a browser and approve access for {name}:\n{url}")
            if not listen:
                typer.echo(f"Then run: seamline connectors auth {name} --code 'REDIRECT_URL' "
                           "(the URL the browser was sent to).")
                return
            code = listen_for_redirect(settings.redirect_uri, timeout_s=timeout_s, ready=lambda: (
                typer.echo(f"Waiting for the redirect to {settings.redirect_uri} …")))
        done = finish_authorization(store, settings, connector, code)
    except (AuthorizationFailed, ConfigError) as exc:
        fail(str(exc), 1)
    until = iso(done.expires_at) or "no expiry given"
    console.print(f"Authorized {name}: the access token is valid until {until}"
                  + ("; a refresh token is kept" if done.has_refresh_token else
                     "; the server gave no refresh token, so authorize again when it expires")
                  + " (encrypted with the vault key).")
    _resume(store, name, specs)


def connectors_status(db: DbOption = None, json_: JsonOption = False) -> None:
    """Each OAuth credential: its state (ok, expiring, failed with the reason, not
    authorized), when its access token expires and when it was last refreshed."""
    from seamline.connectors import credential_report

    rows = credential_report(store_for(db, read_only=True))
    if json_:
        print_json([{**r, "expires_at": iso(r["expires_at"]),
                     "refreshed_at": iso(r["refreshed_at"]),
                     "authorized_at": iso(r["authorized_at"]),
                     "failed_at": iso(r["failed_at"])} for r in rows])
        return
    if not rows:
        console.print("No OAuth credential yet: `seamline connectors auth NAME` authorizes one.")
        return
    table = Table(title=f"{len(rows)} OAuth credential(s)")
    for col in ("credential", "connector", "state", "expires (UTC)", "last refresh (UTC)",
                "reason"):
        table.add_column(col, overflow="fold")
    colour = {"ok": "green", "expiring": "yellow"}
    for r in rows:
        expires = _when(r["expires_at"])
        if r["expires_in_s"] is not None:
            left = r["expires_in_s"]
            expires += f" (in {_duration(left)})" if left >= 0 else f" (expired {_duration(-left)} ago)"
        table.add_row(r["name"], r["connector"],
                      f"[{colour.get(r['state'], 'red')}]{r['state']}[/]", expires,
                      _when(r["refreshed_at"]), r["reason"] or "-")
    console.print(table)
    if any(r["state"] in ("failed", "not_authorized") for r in rows):
        console.print("Fix one with: seamline connectors auth NAME (its actions wait until then).")


def _declared(store: Store, name: str, given: str | None,
              ) -> tuple[OAuthSettings, str, list[Integration]]:
    """The OAuth settings of credential ``name`` from the actions that use it, the
    connector's name, and the integrations declaring it (whose waiting actions can run)."""
    found = declarations(store, given).get(name)
    if found is None:
        where = given or "the integrations run on this store"
        fail(f"No action in {where} declares the OAuth credential {name!r} (a connector with "
             "auth: oauth whose name, or oauth.credential, is that, under connector: or "
             "under vendors:); check the name or pass --integration FILE.", 2)
    return found


def declarations(store: Store, given: str | None,
                 ) -> dict[str, tuple[OAuthSettings, str, list[Integration]]]:
    """Every OAuth credential the integrations declare — through ``connector:`` actions or
    a vendor chosen under ``vendors:`` for ``kind:`` actions — by name: (its settings, the
    connector, the integrations using it). The first declaration's settings are used."""
    from seamline.connectors import oauth_uses
    from seamline.errors import ConfigError

    found: dict[str, tuple[OAuthSettings, str, list[Integration]]] = {}
    for spec in _integrations(store, given):
        try:
            uses = oauth_uses(spec)
        except ConfigError as exc:
            fail(str(exc), 2)
        for use in uses:
            users = found.setdefault(use.credential, (use.settings, use.connector, []))[2]
            if not any(u is spec for u in users):
                users.append(spec)
    return found


def _integrations(store: Store, given: str | None) -> list[Integration]:
    from sqlalchemy import select

    from seamline.errors import SeamlineError
    from seamline.integration import load_integration
    from seamline.store.tables import integrations

    if given:
        try:
            return [load_integration(given)]
        except SeamlineError as exc:
            fail(str(exc), 2)
    with store.read() as conn:
        sources = [s for s in conn.execute(select(integrations.c.source)).scalars() if s]
    loaded = []
    for source in sources:
        try:
            loaded.append(load_integration(source))
        except SeamlineError:  # a file moved or broken since: it declares nothing here
            continue
    return loaded


def _resume(store: Store, name: str, specs: list[Integration]) -> None:
    """Run the actions that waited for the credential, as an approval does."""
    from seamline.actions import resume_waiting
    from seamline.errors import SeamlineError
    from seamline.runtime import Pipeline

    released = resume_waiting(store, name)
    if not released:
        return
    by_name = {s.name: s for s in specs}
    pipelines: dict[str, Pipeline] = {}
    for integration, event_id, path in released:
        spec = by_name.get(integration)
        if spec is None:
            console.print(f"Event {event_id} of {integration}: its actions are pending again; "
                          "a worker or server of it runs them.")
            continue
        try:
            pipeline = pipelines.get(integration) or pipelines.setdefault(
                integration, Pipeline(spec, store))
            state, _, reason = pipeline.finish_actions(event_id, path)
        except SeamlineError as exc:  # its pipeline cannot be built here (a model's key, say)
            console.print(f"Event {event_id} of {integration}: its actions are pending again "
                          f"but could not run here ({exc}); a worker or server of it runs them.")
            continue
        console.print(f"Event {event_id} ({integration}), which waited for {name}: {state}"
                      + (f" ({reason})" if reason else "") + ".")


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch))


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"
