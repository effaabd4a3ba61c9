"""``seamline connectors refresh [NAME]``: refresh OAuth credentials now, by hand.

What a worker does on its own every few seconds (``seamline.queue``'s renewal), for when
no worker runs, or a person wants it now: refresh each credential the integrations on
this store declare (or NAME), whatever its expiry, then run the actions that waited for
it, of every integration that can be loaded here. Exit 1 when a credential could not be
refreshed, with the reason and what to do.
"""

from __future__ import annotations

from typing import Annotated

import typer

from seamline.cli._common import DbOption, console, fail, store_for


def connectors_refresh(
    name: Annotated[str | None, typer.Argument(
        help="The credential (the connector's name, or the oauth.credential its options set); "
             "default: every credential the integrations declare")] = None,
    integration: Annotated[str | None, typer.Option(
        help="Integration file declaring the connector (default: those run on this store)")] = None,
    db: DbOption = None,
) -> None:
    """Refresh OAuth credentials now and run the actions that waited for them (exit 1 if
    one could not be refreshed)."""
    from seamline.cli._connectors_oauth import _declared, _resume, declarations
    from seamline.connectors import renew
    from seamline.errors import ConfigError

    store = store_for(db)
    found = ({name: _declared(store, name, integration)} if name
             else declarations(store, integration))
    if not found:
        console.print("No action declares an OAuth credential (auth: oauth), so there is "
                      "nothing to refresh.")
        return
    broken = 0
    for credential, (settings, connector, specs) in sorted(found.items()):
        try:
            renewal = renew(store, settings, connector, force=True)
        except ConfigError as exc:  # the client id or secret variable is not set, say
            fail(str(exc), 2)
        if renewal.state != "ok":
            broken += 1
            console.print(f"[red]{renewal.sentence()}[/]")
            continue
        console.print(f"[green]{renewal.sentence()}[/]")
        _resume(store, credential, specs)
    if broken:
        raise typer.Exit(1)
