"""Loading the name model: only what the recogniser needs, once, and nothing that only
some other installed package or PyTorch would bring.

Each check runs in a fresh interpreter (what a process has imported is the point). That
the recogniser finds the same people this way is what tests/ingest/test_redact_people.py
holds on the labelled sets.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from seamline.ingest import _ner

pytestmark = pytest.mark.skipif(not _ner.installed().available,
                                reason="spaCy's small English pipeline is not installed")

TEXT = "I spoke with Maria Gonzalez yesterday about the invoice John Smith sent."


def fresh(code: str) -> dict:
    probe = f"import sys, json\n{code}\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_the_model_loads_with_only_the_recogniser_and_without_pytorch_or_plugins():
    got = fresh(
        "from seamline.ingest import _ner\n"
        "status = _ner.status()\n"
        f"spans = _ner.persons([{TEXT!r}])[0]\n"
        "print(json.dumps({'available': status.available, 'pipes': _ner._NLP.pipe_names,\n"
        f"    'names': [{TEXT!r}[s:e] for s, e in spans],\n"
        "    'loaded': sorted(m for m in ('torch', 'transformers', 'presidio_analyzer')\n"
        "                     if m in sys.modules),\n"
        "    'finders': [type(f).__name__ for f in sys.meta_path]}))")
    assert got["available"] and got["pipes"] == ["ner"]
    assert got["names"] == ["Maria Gonzalez", "John Smith"]
    assert got["loaded"] == []
    assert "_NoTorchInThisThread" not in got["finders"]  # gone once spaCy is imported


def test_pytorch_is_refused_only_to_the_loading_thread_and_only_while_it_loads():
    got = fresh(
        "import threading\n"
        "from seamline.ingest import _ner\n"
        "seen = {}\n"
        "def other():\n"
        "    try:\n"
        "        import torch  # noqa: F401\n"
        "        seen['other'] = 'imported'\n"
        "    except ImportError as exc:\n"
        "        seen['other'] = str(exc)\n"
        "with _ner._without_torch():\n"
        "    try:\n"
        "        import torch  # noqa: F401\n"
        "        seen['mine'] = 'imported'\n"
        "    except ImportError:\n"
        "        seen['mine'] = 'refused'\n"
        "    t = threading.Thread(target=other)\n"
        "    t.start(); t.join()\n"
        "print(json.dumps({**seen, 'after': __import__('importlib').util.find_spec('torch')\n"
        "                  is not None}))")
    if not got["after"]:
        pytest.skip("PyTorch is not installed here")
    assert got == {"mine": "refused", "other": "imported", "after": True}


def test_people_s_data_detectors_load_with_the_first_text_that_asks_for_them():
    got = fresh(
        "from seamline.ingest import redact\n"
        "def people():\n"
        "    return sorted(m for m in ('seamline.ingest._people', 'seamline.ingest._address',\n"
        "                              'seamline.ingest._dob', 'seamline.ingest._ids')\n"
        "                  if m in sys.modules)\n"
        "secret = redact('password: hunter2hunter2', kinds=['SECRET']).text\n"
        "before = people()\n"
        "full = redact('Write to Tom Baker at 12 Baker Street, London NW1 6XE').text\n"
        "print(json.dumps({'secret': secret, 'before': before, 'after': people(),\n"
        "                  'full': full}))")
    assert got["secret"] == "password: <SECRET_1>"
    assert got["before"] == []
    assert len(got["after"]) == 4
    assert "Tom Baker" not in got["full"] and "Baker Street" not in got["full"]


def test_the_detectors_first_import_is_not_charged_to_an_event_s_cpu_budget():
    # 10 ms of CPU is less than importing the address and birth-date detectors (~30 ms)
    # and far more than looking for both in one short sentence (~0.3 ms): only the
    # import could exhaust it. (PERSON is left out: its word lists load on its first text,
    # which an event's budget has always paid.)
    got = fresh(
        "from seamline.ingest import CpuBudget, redact\n"
        "r = redact('Write to 12 Baker Street, London NW1 6XE; born 14 March 1990',\n"
        "           kinds=['ADDRESS', 'DOB'], budget=CpuBudget(0.01))\n"
        "print(json.dumps({'kinds': sorted({e.kind for e in r.entities}),\n"
        "                  'loaded': 'seamline.ingest._address' in sys.modules}))")
    assert got == {"kinds": ["ADDRESS", "DOB"], "loaded": True}
