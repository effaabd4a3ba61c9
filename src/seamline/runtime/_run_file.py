"""Running a JSONL file of events through a pipeline, with the numbers people compare."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from seamline.errors import ConfigError, InputInvalid
from seamline.ingest import decode_event
from seamline.runtime._pipeline import Pipeline
from seamline.runtime._results import LAYERS, EventResult


@dataclass
class RunSummary:
    results: list[EventResult] = field(default_factory=list)

    @property
    def states(self) -> Counter:
        return Counter(r.state for r in self.results)

    @property
    def dead_letter_reasons(self) -> Counter:
        return Counter(f"{r.stage}: {_reason_kind(r.reason)}" for r in self.results
                       if r.state == "dead_lettered")

    @property
    def total_cost(self) -> float:
        return sum(r.cost_usd for r in self.results)

    def latency_percentiles(self) -> dict[str, tuple[float, float]]:
        """Per layer (and in all): p50 and p95 in milliseconds, over events that reached it."""
        out: dict[str, tuple[float, float]] = {}
        for layer in (*LAYERS, "total"):
            values = sorted(
                (sum(r.timings_ms.values()) if layer == "total" else r.timings_ms[layer])
                for r in self.results if (layer == "total" and r.timings_ms) or layer in r.timings_ms)
            if values:
                out[layer] = (_pct(values, 0.5), _pct(values, 0.95))
        return out


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def _reason_kind(reason: str) -> str:
    # Group reasons by their first clause so the table stays short (a line's number apart).
    head = _LINE.sub("", reason, count=1).split(" (", 1)[0].split(": ", 1)[0]
    return head[:90]


_LINE = re.compile(r"^line \d+: ")


def read_jsonl(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-blank line of a file people write (golden sets,
    examples); a missing file, or a line that is not UTF-8, is a ConfigError naming it:
    never a text quietly repaired with U+FFFD."""
    for n, line in jsonl_bytes(path):
        try:
            yield n, line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"Line {n} of {path} is not UTF-8 (byte {exc.start + 1}); "
                              "save the file as UTF-8.") from None


def jsonl_bytes(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every non-blank line, as written: a line that is not UTF-8
    reaches the decoder as it is (and is refused with the reason), never repaired."""
    if not path.is_file():
        raise ConfigError(f"The input file {path} does not exist.")
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                yield n, line


def count_lines(path: Path) -> int:
    return sum(1 for _ in jsonl_bytes(path))


def run_file(pipeline: Pipeline, path: Path, *,
             on_event: Callable[[EventResult], None] | None = None, limit: int | None = None,
             batch_size: int = 0, poll_interval: float = 30.0) -> RunSummary:
    """Run every line of a JSONL file; with ``batch_size`` > 0, through the provider's
    batch API in groups of that size (at its discount, answers within hours)."""
    summary = RunSummary()
    group: list = []

    def record(result: EventResult) -> None:
        summary.results.append(result)
        if on_event:
            on_event(result)

    def flush() -> None:
        for result in pipeline.process_batch(group, poll_interval=poll_interval):
            record(result)
        group.clear()

    for i, (n, line) in enumerate(jsonl_bytes(path)):
        if limit is not None and i >= limit:
            break
        try:
            raw = decode_event(line)
        except InputInvalid as exc:  # recorded as a dead letter; the file goes on
            record(pipeline.refuse(line, f"line {n}: {exc}"))
            continue
        if batch_size > 0:
            group.append(raw)
            if len(group) >= batch_size:
                flush()
        else:
            record(pipeline.process(raw))
    if group:
        flush()
    return summary
