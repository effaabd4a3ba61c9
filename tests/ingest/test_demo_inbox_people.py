"""The demo inbox through the pipeline against the emulator: no customer's name, address or
date of birth reaches the model's provider, nor what the console shows (the store's events,
outbox, dead letters and audit trail; the vault holds the real values, encrypted)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from seamline.emulator import Emulator
from seamline.integration import RetrySpec, load_integration
from seamline.runtime import Pipeline
from seamline.store.tables import audit_log, dead_letters, events, outbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "support_triage"
ANSWER = {"intent": "billing", "urgency": "normal", "summary": "A customer asks for help.",
          "confidence": 0.9, "evidence": []}
# Every person named in the demo inbox (signatures, greetings, running text), its one birth
# date, and a sample of the 600 names in the timesheet report pasted into one e-mail.
PEOPLE = """Tessa|Renee|Hollie Grant|Julia Vance|Devon|Noemí|Tracy Gardner|Natalia Ferreira
|Isabel|Laura Harper|Cristina Moreno|Felix Braun|Mei Lin|Daniel Abara|Sana Qureshi|Yusuf Kaya
|Amélie Roux|Marcus Tan|Kevin|Helen Mbatha|Cécile Fontaine|Aaron|Bjorn Eriksen|田中リナ
|Chidi Obi|Alicia Moreno|Mireille Delacroix|Zoe|Carlos Medina|Paula Vance|Jamal Wright|Paula
|Jamal|Rafael Delgado|Hans Keller|Beatriz Lima|Elizabeth Fairweather|Léa Baptiste|Tobi Osei
|Beth|Nuno|Sharon Kaplan|Bilal|Frank Osei-Bonsu|Rebecca Cole|Amir Hosseini|Sven Lund|佐藤
|Cynthia Mbeki|Olivia Kim|Nicola Ferrari|Salma Rahman|Sam O'Connell|Raymond Fontaine
|Sandra Okoye|Nico Brandt|Grace Obi|Mark Ellis|Karen Ng|Sandra Gill|Marcus Feld|Gloria Mendes
|Dee|Maria Silva|Hana Patel|Fatima Okafor|Ethan Brown|Priya Garcia|Zara Khan|Wei Nguyen
|Noah Okafor|Elena Garcia|04/12/1991""".replace("\n", "").split("|")


def _strings(value: object) -> list[str]:
    """Every string inside ``value``, JSON text decoded: a raw body escapes line breaks and
    non-ASCII letters ("\\nTessa", "\\u7530"), which a search for the name would miss."""
    if isinstance(value, str):
        try:
            inner = json.loads(value)
        except ValueError:
            return [value]
        return _strings(inner) if isinstance(inner, dict | list) else [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _leaks(value: object) -> list[str]:
    text = "\n".join(_strings(value))
    return [p for p in PEOPLE if re.search(r"(?<!\w)" + re.escape(p) + r"(?!\w)", text)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    import os

    from seamline.store import open_store

    old = os.environ.get("ANTHROPIC_API_KEY")
    os.environ["ANTHROPIC_API_KEY"] = "sk-ant-test-key-0000000000"
    os.environ["SUPPORT_TRIAGE_HELPDESK_DB"] = str(tmp_path_factory.mktemp("hd") / "hd.db")
    base = load_integration(EXAMPLE / "integration.yaml")
    store = open_store(tmp_path_factory.mktemp("demo") / "seamline.db")
    rows = [json.loads(line) for line in
            (EXAMPLE / "data" / "inbox.jsonl").read_text().splitlines() if line.strip()]
    try:
        with Emulator(lambda req: ANSWER).serve() as emu:
            route = base.model.model_copy(update={
                "provider": "anthropic", "model": "claude-test-1", "base_url": emu.base_url,
                "input_usd_per_mtok": 3.0, "output_usd_per_mtok": 15.0,
                "retry": RetrySpec(max_retries=0, base_delay_s=0.01, max_delay_s=0.05)})
            spec = base.model_copy(update={"model": route})
            pipeline = Pipeline(spec, store)
            for row in rows:
                pipeline.process(row)
            sent = [r.body for r in emu.requests]
            calls = len(emu.requests)
        with store.read() as conn:
            shown = [
                [list(r) for r in conn.execute(select(events.c.input, events.c.output))],
                [list(r) for r in conn.execute(select(outbox.c.params))],
                [[str(c) for c in r] for r in conn.execute(select(dead_letters))],
                [list(r) for r in conn.execute(select(audit_log.c.payload))],
            ]
        yield sent, calls, shown, rows
    finally:
        store.close()
        if old is None:
            os.environ.pop("ANTHROPIC_API_KEY", None)
        else:
            os.environ["ANTHROPIC_API_KEY"] = old


def test_the_names_are_in_the_inbox_to_begin_with(run):
    *_, rows = run
    assert _leaks(rows) == PEOPLE


def test_no_name_address_or_birth_date_reaches_the_provider(run):
    sent, calls, _, _ = run
    assert calls > 100 and "<PERSON_1>" in "\n".join(_strings(sent))
    assert _leaks(sent) == []


def test_no_name_reaches_what_the_console_shows(run):
    _, _, shown, _ = run
    assert "<PERSON_" in "\n".join(_strings(shown))
    assert _leaks(shown) == []
