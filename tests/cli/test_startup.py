"""Start-up: `import seamline` and `seamline --help` stay light; each command loads when it runs.

What is asserted is which modules a fresh process loads, never how long it takes
(`make bench-startup` measures that).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


# --- the commands people run all day, against a store with something in it -------------

# A listing reads the store (SQLAlchemy) and prints a table: no migration, no model, no
# HTTP client, no template engine, no cipher. An approval runs the planned action: no
# migration, and the on-device model's kept fit is loaded, never fitted (no scikit-learn,
# no spaCy).
LISTING_HEAVY = {"alembic", "sklearn", "spacy", "numpy", "httpx", "jinja2", "cryptography",
                 "fastapi", "openai", "anthropic"}
APPROVAL_HEAVY = {"alembic", "sklearn", "scipy", "spacy", "thinc", "torch"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The triage demo's first 20 e-mails and a line that is not JSON, run once: events, a
    dead letter, actions waiting for a person and the model's fit kept beside the store."""
    from sqlalchemy import select

    from seamline.store import open_store
    from seamline.store.tables import outbox

    root = tmp_path_factory.mktemp("demo")
    example = Path(__file__).resolve().parents[2] / "examples" / "support_triage"
    inbox = root / "inbox.jsonl"
    lines = (example / "data" / "inbox.jsonl").read_text(encoding="utf-8").splitlines()[:20]
    inbox.write_text("\n".join([*lines, "this is not json"]) + "\n", encoding="utf-8")
    env = {**os.environ, "SUPPORT_TRIAGE_HELPDESK_DB": str(root / "helpdesk.db"),
           "SEAMLINE_DB": str(root / "seamline.db"), "COLUMNS": "200"}
    env.pop("SEAMLINE_MODELS", None)
    done = subprocess.run([sys.executable, "-m", "seamline", "run",
                           str(example / "integration.yaml"), "--input", str(inbox)],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    store = open_store(root / "seamline.db")
    with store.read() as conn:
        waiting = conn.execute(select(outbox.c.id).where(
            outbox.c.status == "awaiting_approval").order_by(outbox.c.id)).scalars().all()
    store.close()
    assert waiting and list((root / "models").glob("local-*.npz"))
    return env, waiting


def command_in_a_fresh_process(args: list[str], env: dict[str, str]) -> tuple[int, str, set[str]]:
    """Run ``seamline ARGS`` as the console script does: exit code, output, modules loaded."""
    code = ("import sys, json\nfrom seamline.cli import main\n"
            f"sys.argv = ['seamline', *{args!r}]\ncode = 0\n"
            "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code or 0\n"
            "print(json.dumps([code, sorted(sys.modules)]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    *printed, last = done.stdout.splitlines()
    exit_code, modules = json.loads(last)
    return exit_code, "\n".join(printed), set(modules)


@pytest.mark.parametrize("args", [["approvals", "list"], ["dlq", "list"], ["events", "list"],
                                  ["queue", "status"]])
def test_a_listing_loads_no_library_that_only_running_an_event_needs(demo, args):
    env, _ = demo
    exit_code, output, modules = command_in_a_fresh_process(args, env)
    assert exit_code == 0, output
    assert output.strip()
    assert top_level(modules) & LISTING_HEAVY == set()


def test_an_approval_runs_the_action_without_the_model_migrations_or_a_fit(demo):
    env, waiting = demo
    exit_code, output, modules = command_in_a_fresh_process(
        ["approvals", "approve", str(waiting[0]), "--reviewer", "ana"], env)
    assert exit_code == 0 and "approved" in output, output
    assert top_level(modules) & APPROVAL_HEAVY == set()
    # Only layer 5 is left after an approval: no model is built, kept fit or not.
    assert not {"seamline.inference._local_store", "seamline.inference._local_fit",
                "seamline.inference.local"} & set(modules)
    assert "seamline.runtime._settle" in modules and "seamline.runtime._pipeline" not in modules
