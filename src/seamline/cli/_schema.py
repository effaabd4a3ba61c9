"""``seamline schema``: the integration file's JSON Schema, or its reference in Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seamline.cli._common import console, fail


def schema_cmd(
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the reference (docs/reference.md) instead of the JSON Schema")
    ] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write to this file instead of printing")] = None,
):
    """Print the JSON Schema of the integration file, generated from the spec.

    Editors complete and check keys with it (seamline init does both steps):
    seamline schema -o integration.schema.json, then as the YAML's first line
    # yaml-language-server: $schema=./integration.schema.json
    """
    from seamline.cli._reference import markdown as reference
    from seamline.cli._reference import schema_text

    text = reference() if markdown else schema_text()
    if out is None:
        # Plain stdout, not Rich: the text is data (JSON or Markdown), byte for byte.
        typer.echo(text, nl=False)
        return
    if not out.parent.is_dir():
        fail(f"The folder {out.parent} does not exist; nothing was written.", 2)
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote {out}.")
