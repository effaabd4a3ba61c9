"""``seamline runbook INTEGRATION``: the hand-over runbook, generated (seamline.runbook)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from seamline.cli._common import DbOption, console, existing_file, store_for
from seamline.errors import ConfigError
from seamline.integration import load_integration


def runbook_cmd(
    integration: Annotated[str, typer.Argument(help="integration.yaml/.toml, or module:attr")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the Markdown here "
                                                                "(default: print it)")] = None,
    rules: Annotated[Path | None, typer.Option(
        help="The alert rules (YAML) `rollout watch --rules` evaluates, to list with what to do")] = None,
    db: DbOption = None,
):
    """Write the integration's runbook in Markdown from its declaration and the store.

    Owner, rollback and flag commands, dead letters, alerts, caps and spend, connectors,
    eval, drift."""
    from seamline.rollout import load_rules
    from seamline.runbook import runbook

    spec = load_integration(integration)
    loaded = []
    if rules is not None:
        try:
            loaded = load_rules(yaml.safe_load(existing_file(rules, "rules file").read_text()))
        except (yaml.YAMLError, ValueError) as exc:
            raise ConfigError(f"The alert rules in {rules} are invalid: {exc}.") from None
    store = store_for(db, read_only=True)
    try:
        text = runbook(store, spec, rules=loaded,
                       rules_file=str(rules.resolve()) if rules is not None else None)
    finally:
        store.close()
    if out is None:
        typer.echo(text, nl=False)  # plain: Rich would fold the Markdown's long lines
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"Runbook of {spec.name} written to {out}.")
