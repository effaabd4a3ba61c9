"""The local model's fit on disk: keyed by what it was fitted from, loaded, never refitted."""

from __future__ import annotations

import json

import pytest

from seamline.inference import _local_fit
from seamline.inference._local_store import load, path_for
from seamline.inference._route import models_dir_for
from seamline.inference.local import LocalModel

from test_local import Ticket, _examples, _request


def _fresh(tmp_path, rows=None, **kw) -> LocalModel:
    _local_fit._CACHE.clear()  # as a new process would be
    return LocalModel(Ticket, rows or _examples(), ["subject", "body"], cache_dir=tmp_path, **kw)


def test_a_fit_is_saved_then_loaded_by_the_next_process_without_refitting(tmp_path, monkeypatch):
    first = _fresh(tmp_path)
    source = {"subject": "Refund", "body": "I returned the shoes. When do I get my money back?"}
    reply = first.complete(_request(source)).text
    assert first.fitted_from == "fit"
    assert path_for(tmp_path, first.key).is_file()

    def no_fit(*args, **kwargs):
        raise AssertionError("a persisted model must be loaded, not fitted again")

    monkeypatch.setattr("seamline.inference.local.fit", no_fit)
    second = _fresh(tmp_path)
    assert second.complete(_request(source)).text == reply  # the same bytes
    assert second.fitted_from == "disk"


def test_the_key_follows_the_examples_content_and_features(tmp_path) -> None:
    a = _fresh(tmp_path)
    rows = _examples()
    rows[0] = ({**rows[0][0], "body": rows[0][0]["body"] + " Again."}, rows[0][1])
    assert _fresh(tmp_path, rows).key != a.key  # one example changed: another model
    assert _fresh(tmp_path, model="local-words").key != a.key
    assert _fresh(tmp_path, fingerprint="redact:other").key != a.key
    assert _fresh(tmp_path).key == a.key


def test_a_damaged_or_foreign_file_is_refitted_not_trusted(tmp_path) -> None:
    model = _fresh(tmp_path)
    model.warm()
    path = path_for(tmp_path, model.key)
    path.write_bytes(b"not a model")
    assert load(tmp_path, model.key) is None
    again = _fresh(tmp_path)
    again.warm()
    assert again.fitted_from == "fit"
    assert load(tmp_path, model.key) is not None  # rewritten


def test_prepare_runs_only_when_a_fit_is_needed(tmp_path) -> None:
    calls = []

    def prepare(data: dict) -> dict:
        calls.append(1)
        return data

    _fresh(tmp_path, prepare=prepare, fingerprint="identity").warm()
    assert len(calls) == len(_examples())
    calls.clear()
    _fresh(tmp_path, prepare=prepare, fingerprint="identity").warm()  # loaded: nothing prepared
    assert calls == []


def test_sklearn_pipelines_of_a_loaded_fit_are_fitted_on_request(tmp_path) -> None:
    _fresh(tmp_path).warm()
    loaded = _fresh(tmp_path)
    loaded.warm()
    assert loaded.fitted_from == "disk"
    assert set(loaded.pipelines) == {"intent", "urgency"}


def test_where_fits_are_kept(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SEAMLINE_MODELS", raising=False)
    monkeypatch.delenv("SEAMLINE_DB", raising=False)
    assert models_dir_for(f"sqlite:///{tmp_path}/x.db") == tmp_path / "models"
    assert str(models_dir_for("postgresql+psycopg://db/app")) == ".seamline/models"
    assert str(models_dir_for("sqlite:///:memory:")) == ".seamline/models"
    monkeypatch.setenv("SEAMLINE_DB", str(tmp_path / "s.db"))
    assert models_dir_for(None) == tmp_path / "models"
    monkeypatch.setenv("SEAMLINE_MODELS", str(tmp_path / "elsewhere"))
    assert models_dir_for(f"sqlite:///{tmp_path}/x.db") == tmp_path / "elsewhere"


@pytest.mark.parametrize("folder", ["readonly"])
def test_an_unwritable_folder_only_costs_a_fit(tmp_path, folder) -> None:
    target = tmp_path / folder
    target.write_text("a file, not a folder")
    model = _fresh(target)
    reply = model.complete(_request({"subject": "x", "body": "Please cancel my plan."}))
    assert json.loads(reply.text)["intent"] == "cancellation"


def test_a_fit_taken_from_memory_is_kept_in_a_new_stores_folder_too(tmp_path) -> None:
    # One process serving two stores: the second store's folder gets the fit as well, so its
    # approvals and workers load it instead of fitting again.
    first, second = tmp_path / "a", tmp_path / "b"
    _fresh(first).warm()
    other = LocalModel(Ticket, _examples(), ["subject", "body"], cache_dir=second)
    other.warm()
    assert other.fitted_from == "memory"
    assert path_for(second, other.key).is_file()
