"""Opening a store that is already up to date costs one query: Alembic is imported (and
runs) only when there is something to migrate, and an older store is still upgraded."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from seamline.store import _engine, open_store


def _config(conn=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_engine._MIGRATIONS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def _version(store) -> list[str]:
    with store.read() as conn:
        return list(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())


def _opened_in_a_fresh_process(path) -> tuple[bool, list[str]]:
    """Whether opening ``path`` in a new interpreter imported Alembic, and its version rows."""
    code = ("import sys\nfrom seamline.store import open_store\n"
            f"s = open_store({str(path)!r})\n"
            "with s.read() as c:\n"
            "    v = list(c.exec_driver_sql('SELECT version_num FROM alembic_version').scalars())\n"
            "print('alembic' in sys.modules, ','.join(v))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0] == "True", out[1].split(",")


def test_the_head_read_from_the_version_files_is_the_one_alembic_names():
    assert _engine.known_head() == ScriptDirectory.from_config(_config()).get_current_head()


def test_an_up_to_date_store_opens_without_importing_alembic_and_a_new_one_is_migrated(tmp_path):
    head = _engine.known_head()
    fresh = tmp_path / "fresh.db"
    imported, version = _opened_in_a_fresh_process(fresh)
    assert imported and version == [head]  # nothing there yet: Alembic built the schema
    imported, version = _opened_in_a_fresh_process(fresh)
    assert not imported and version == [head]


def test_a_store_one_migration_behind_is_upgraded_on_open(tmp_path):
    path = tmp_path / "old.db"
    store = open_store(path)
    head = _version(store)
    with store.engine.begin() as conn:
        command.downgrade(_config(conn), "-1")
    assert _version(store) != head
    store.close()
    imported, version = _opened_in_a_fresh_process(path)
    assert imported and version == head


def _versions(folder, files: dict[str, str]) -> None:
    (folder / "versions").mkdir()
    for name, text in files.items():
        (folder / "versions" / name).write_text(text)


@pytest.fixture
def migrations(tmp_path, monkeypatch):
    monkeypatch.setattr(_engine, "_MIGRATIONS", tmp_path)
    _engine.known_head.cache_clear()
    yield tmp_path
    _engine.known_head.cache_clear()


def test_a_straight_history_ends_in_its_newest_revision(migrations):
    _versions(migrations, {"1.py": 'revision = "a"\ndown_revision = None\n',
                           "2.py": 'revision: str = "b"\ndown_revision: str | None = "a"\n'})
    assert _engine.known_head() == "b"


@pytest.mark.parametrize("files", [
    {"1.py": 'revision = "a"\ndown_revision = None\n',  # two heads: a branch
     "2.py": 'revision = "b"\ndown_revision = "a"\n',
     "3.py": 'revision = "c"\ndown_revision = "a"\n'},
    {"1.py": 'revision = "a"\ndown_revision = None\n',  # a revision that is not a literal
     "2.py": 'revision = make_id()\ndown_revision = "a"\n'},
    {"1.py": 'revision = "a"\ndown_revision = None\n',  # a merge of two parents
     "2.py": 'revision = "b"\ndown_revision = None\n',
     "3.py": 'revision = "m"\ndown_revision = ("a", "b")\n'},
])
def test_a_history_it_cannot_read_plainly_leaves_the_decision_to_alembic(migrations, files):
    _versions(migrations, files)
    assert _engine.known_head() is None
