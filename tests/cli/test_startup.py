"""Start-up: `import seamline` and `seamline --help` stay light; each command loads when it runs.

What is asserted is which modules a fresh process loads, never how long it takes
(`make bench-startup` measures that).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from seamline.cli import COMMANDS, app

HEAVY = {"sqlalchemy", "alembic", "httpx", "fastapi", "sklearn", "openai", "anthropic"}
runner = CliRunner()


def fresh_process(code: str) -> tuple[str, set[str]]:
    """Run ``code`` in a new interpreter: what it printed, and every module it left loaded."""
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, check=True)
    *printed, modules = done.stdout.splitlines()
    return "\n".join(printed), set(json.loads(modules))


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_import_seamline_loads_no_heavy_library():
    _, modules = fresh_process("import seamline")
    assert top_level(modules) & HEAVY == set()


def test_help_lists_every_command_without_importing_any_of_them():
    output, modules = fresh_process(
        "from seamline.cli import main\nsys.argv = ['seamline', '--help']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 0, exit.code")
    assert top_level(modules) & HEAVY == set()
    command_modules = {entry.module for entry in COMMANDS.values()}
    assert modules & command_modules == set()
    for name in COMMANDS:
        assert f" {name} " in output, name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_listed_help_is_the_first_paragraph_of_the_command_s_own(name):
    shown = runner.invoke(app, [name, "--help"], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.output
    assert " ".join(COMMANDS[name].help.split()) in " ".join(shown.output.split())


def test_a_mistyped_command_is_click_s_error_with_exit_code_2():
    result = runner.invoke(app, ["chek"])
    assert result.exit_code == 2
    assert "No such command 'chek'" in result.output and "'check'" in result.output
