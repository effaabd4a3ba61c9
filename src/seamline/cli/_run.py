"""``seamline check``, ``run``, ``eval`` and ``demo``: the commands that run integrations."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seamline.cli._common import DbOption, console, existing_file, fail, store_for
from seamline.eval import GoldenScore, categorical_fields, check_split, score_golden
from seamline.integration import Integration, load_integration, read_integration
from seamline.preflight import check
from seamline.runtime import Pipeline, RunSummary, count_lines, run_file


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def show_problems(integration: Integration, file_problems: tuple[str, ...] = ()) -> bool:
    """Print the check's findings, the file's own problems first; True when nothing blocks
    going live."""
    problems = check(integration)
    errors = [p for p in problems if p.level == "error"]
    for sentence in file_problems:
        console.print(f"  [red]error[/] [dim]file:[/] {escape(_ended(sentence))}", highlight=False)
    for p in problems:
        colour = "red" if p.level == "error" else "yellow"
        console.print(f"  [{colour}]{p.level}[/] [dim]{p.part}:[/] {escape(p.sentence)}")
    count = len(errors) + len(file_problems)
    if not count:
        console.print(f"[green]✓[/] {integration.name} is ready to go live"
                      + (f" ({len(problems)} warnings)" if problems else "") + ".")
    else:
        console.print(f"[red]✗[/] {integration.name} is not ready: {count} problem(s) to fix.")
    return not count


def _ended(sentence: str) -> str:
    return sentence if sentence.endswith((".", "?", "!")) else sentence + "."


def check_cmd(integration: Annotated[str, typer.Argument(help="integration.yaml/.toml, or module:attr")]):
    """Name every missing or inconsistent part of an integration; exit 1 if it cannot go live.

    Every problem at once: typos in several keys and inline schemas, the spec's own rules,
    and the checks of what the file declares. Exit 2 when the file itself is inconsistent
    (a typo, a wrong type), 1 when it reads but cannot go live, 0 when it is ready."""
    reading = read_integration(integration)
    if reading.integration is None:  # too broken to check further: its problems alone
        for sentence in reading.problems:
            console.print(f"  [red]error[/] [dim]file:[/] {escape(_ended(sentence))}", highlight=False)
        console.print(f"[red]✗[/] {integration} cannot be read: {len(reading.problems)} "
                      "problem(s) to fix.", highlight=False)
        raise typer.Exit(2)
    if not show_problems(reading.integration, reading.problems):
        raise typer.Exit(2 if reading.problems else 1)


def summary_tables(summary: RunSummary) -> None:
    states = Table(title="Terminal states")
    states.add_column("state")
    states.add_column("events", justify="right")
    for state, n in summary.states.most_common():
        states.add_row(state, str(n))
    states.add_row("[bold]total", f"[bold]{len(summary.results)}")
    console.print(states)
    reasons = summary.dead_letter_reasons
    if reasons:
        dl = Table(title="Dead letters by reason")
        dl.add_column("stage: reason")
        dl.add_column("events", justify="right")
        for reason, n in reasons.most_common():
            dl.add_row(reason, str(n))
        console.print(dl)
    lat = Table(title="Latency per layer (ms)")
    lat.add_column("layer")
    lat.add_column("p50", justify="right")
    lat.add_column("p95", justify="right")
    for layer, (p50, p95) in summary.latency_percentiles().items():
        lat.add_row(layer, f"{p50:.3f}", f"{p95:.3f}")
    console.print(lat)
    n = len(summary.results) or 1
    console.print(f"Cost: total ${summary.total_cost:.6f}, per event ${summary.total_cost / n:.6f}")


def run_integration(integration: Integration, input_path: Path, db: str | None,
                    limit: int | None = None, batch: int = 0) -> RunSummary:
    store = store_for(db)
    try:
        pipeline = Pipeline(integration, store)
        stranded = pipeline.stranded()
        if stranded:
            console.print(f"Resuming {len(stranded)} event(s) a stopped process left mid-way.")
            for event_id in stranded:
                pipeline.resume(event_id)
        total = count_lines(input_path)
        if limit is not None:
            total = min(total, limit)
        with _progress() as progress:
            task = progress.add_task(f"{integration.name}", total=total)
            summary = run_file(pipeline, input_path, limit=limit, batch_size=batch,
                               poll_interval=5.0, on_event=lambda _r: progress.advance(task))
    finally:
        store.close()
    summary_tables(summary)
    return summary


def run_cmd(
    integration: Annotated[str, typer.Argument(help="integration.yaml/.toml, or module:attr")],
    input: Annotated[Path, typer.Option("--input", "-i", help="JSONL file, one event per line")],
    db: DbOption = None,
    limit: Annotated[int | None, typer.Option(help="Process at most this many lines")] = None,
    batch: Annotated[int, typer.Option(
        help="Send events through the provider's batch API in groups of this size")] = 0,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Also write one JSON line per event here: id, state, reason, "
                            "output, cost, latency")] = None,
):
    """Run every event of a JSONL file through the integration and summarise the outcome."""
    existing_file(input, "input file")
    if out is not None:
        from seamline.cli._events import results_path

        results_path(out)  # a bad --out is said before the run, not after it
    spec = load_integration(integration)
    if any(p.level == "error" for p in check(spec)):
        show_problems(spec)
        fail(f"{spec.name} cannot go live until the problems above are fixed "
             f"(see `seamline check {integration}`).", 2)
    summary = run_integration(spec, input, db, limit, batch)
    if out is not None:
        from seamline.cli._events import write_results

        write_results(summary.results, out)


def golden_table(model: GoldenScore, baseline: GoldenScore | None, fields: list[str],
                 split: str = "all") -> Table:
    table = Table(title="Golden set" + ("" if split == "all" else
                                        f", {split} split ({model.examples} examples"
                                        + (", never tuned on)" if split == "test" else ")")))
    table.add_column("metric")
    table.add_column("integration", justify="right")
    if baseline:
        table.add_column("baseline", justify="right")
    for f in fields:
        row = [f"{f} accuracy", f"{model.accuracy(f):.1%}"]
        table.add_row(*row, *([f"{baseline.accuracy(f):.1%}"] if baseline else []))
    table.add_row("all fields right", f"{model.exact:.1%}", *([f"{baseline.exact:.1%}"] if baseline else []))
    table.add_row("answered", f"{model.answered}/{model.examples}",
                  *([f"{baseline.answered}/{baseline.examples}"] if baseline else []))
    return table


def evaluate(spec: Integration, golden: Path, split: str = "test") -> tuple[GoldenScore, GoldenScore]:
    """The golden score beside the baseline's, on ``split`` (the untouched test split)."""
    with _progress() as progress:
        t1 = progress.add_task("golden: integration", total=None)
        model = score_golden(spec, golden, on_example=lambda: progress.advance(t1), split=split)
        t2 = progress.add_task("golden: baseline", total=None)
        base = score_golden(spec, golden, baseline_only=True, on_example=lambda: progress.advance(t2),
                            split=split)
    console.print(golden_table(model, base, categorical_fields(spec.output_schema), split))
    return model, base


def eval_cmd(
    integration: Annotated[str, typer.Argument(help="integration.yaml/.toml, or module:attr")],
    golden: Annotated[Path, typer.Option("--golden", "-g", help="JSONL of {input, output}")],
    min_score: Annotated[float | None, typer.Option(help="Exit 1 if all-fields accuracy is below")] = None,
    split: Annotated[str, typer.Option(help="test (never tuned on: the headline), dev or all")] = "test",
):
    """Score the integration (every layer, actions in dry run) on a golden set, beside the baseline."""
    existing_file(golden, "golden file")
    model, _ = evaluate(load_integration(integration), golden, check_split(split))
    if min_score is not None and model.exact < min_score:
        fail(f"The golden score {model.exact:.1%} is below the bar of {min_score:.1%}.", 1)


def demo_signing(db: str) -> None:
    """The demo signs its audit chain: with the configured key, or one made for this user in
    the config folder (outside the database). Its checkpoints start afresh with the store."""
    from seamline.audit import (
        KEY_FILE_ENV,
        SINK_ENV,
        default_sink_dir,
        local_signer,
        signer_from_env,
    )
    from seamline.store import open_store

    store = open_store(db, pool_size=1)
    try:
        sink_dir = default_sink_dir(store)
    finally:
        store.close()
    shutil.rmtree(sink_dir, ignore_errors=True)
    os.environ.setdefault(SINK_ENV, str(sink_dir))
    if signer_from_env() is not None:
        console.print(f"Audit checkpoints are signed with the key {KEY_FILE_ENV} or "
                      f"SEAMLINE_AUDIT_KEY names, into {os.environ[SINK_ENV]}.")
        return
    from seamline.audit import local_key_path, public_path

    signer, made = local_signer()
    os.environ[KEY_FILE_ENV] = str(local_key_path())
    console.print(f"No audit signing key is configured, so the demo "
                  f"{'generated' if made else 'uses'} one for you outside the database: "
                  f"{local_key_path()} (key {signer.key_id}); verifiers get "
                  f"{public_path(local_key_path())}. Checkpoints go to {os.environ[SINK_ENV]}.")


def demo_verify(db: str) -> None:
    from seamline.audit import checkpoint, configured_sink, signer_from_env, trusted_keys, verify
    from seamline.cli._audit import print_report

    store = store_for(db)
    try:
        signer = signer_from_env()
        sink = configured_sink(store)
        if signer is not None:
            checkpoint(store, signer, sink)
        keys, source = trusted_keys()
        report = verify(store, checkpoints=sink, keys=keys)
    finally:
        store.close()
    print_report(report, f"the checkpoints in {sink.where} with {source}" if keys else "")
    if not report.ok:
        fail("The audit chain does not verify.", 1)
    from seamline.audit import KEY_FILE_ENV, public_path

    key_file = os.environ.get(KEY_FILE_ENV)
    pub = public_path(Path(key_file)) if key_file else "KEY.pub"
    console.print(f"An auditor checks the same with the public key alone: [bold]seamline audit "
                  f"export chain.jsonl --db {db}[/], then [bold]seamline audit verify --export "
                  f"chain.jsonl --checkpoints {sink.where} --public-key {pub}[/].")


def demo_cmd(
    example: Annotated[Path, typer.Option(help="The example's folder")] = Path("examples/support_triage"),
    workdir: Annotated[Path, typer.Option(help="Where the demo keeps its store; wiped first")] = Path(
        ".seamline/demo"),
):
    """Run the support-triage demo: check, the inbox, the golden set, and audit verification."""
    yaml_path = existing_file(example / "integration.yaml", "demo integration")
    # A fresh store each time, so a second run shows the same story instead of duplicates.
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    db = str(workdir / "seamline.db")
    os.environ["SUPPORT_TRIAGE_HELPDESK_DB"] = str(workdir / "helpdesk.db")
    spec = load_integration(yaml_path)
    demo_signing(db)
    console.rule(f"[bold]1. check {spec.name}")
    if not show_problems(spec):
        fail("The demo integration is incomplete.", 2)
    console.rule("[bold]2. run the inbox through all seven layers (local model, SQLite)")
    run_integration(spec, existing_file(example / "data" / "inbox.jsonl", "inbox"), db)
    console.rule("[bold]3. score the golden set (kept apart from what the model learned)")
    evaluate(spec, existing_file(example / "data" / "golden.jsonl", "golden set"))
    console.rule("[bold]4. sign the audit chain's head and verify it with the public key")
    demo_verify(db)
    console.print(f"Look around: [bold]seamline approvals list --db {db}[/], "
                  f"[bold]seamline dlq list --db {db}[/], [bold]seamline audit show EVENT --db {db}[/].")
