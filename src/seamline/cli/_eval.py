"""``seamline eval run | compare | sample | signoff``, and ``seamline eval INTEGRATION --golden F``.

The bare form (the demo's quick score beside the baseline) stays as it was: a group whose
first argument is not a subcommand runs it. The subcommands are thin layers over
:mod:`seamline.eval`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from seamline.cli._common import DbOption, console, existing_file, fail, store_for
from seamline.cli._run import _progress, eval_cmd
from seamline.errors import ConfigError
from seamline.eval import (
    Comparison,
    EvalReport,
    compare,
    gate,
    parse_since,
    parse_variant,
    read_golden,
    record_golden_run,
    run_eval,
    sample_events,
    sign_off,
    signed_bar,
    write_html,
    write_sample,
)
from seamline.integration import Integration, load_integration, resolve

_QUICK = "golden"


class _EvalGroup(TyperGroup):
    """Runs the quick golden score when the first argument is not a subcommand."""

    # ``ctx: Any``: Typer runs on its own vendored click, whose Context has no public name.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [_QUICK, *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(cls=_EvalGroup, no_args_is_help=True,
                       help="Score an integration on golden sets: run, compare, sample, signoff.")
eval_app.command(_QUICK, hidden=True)(eval_cmd)

IntegrationArg = Annotated[str, typer.Argument(help="integration.yaml/.toml, or module:attr")]
GoldenOption = Annotated[Path, typer.Option("--golden", "-g", help="Golden-set JSONL of {input, output}")]
ProviderOption = Annotated[str | None, typer.Option(
    "--provider", help="module:attr of a provider (or a function of the integration returning one), "
                       "instead of the route's; for scripted models in tests")]


def _provider(ref: str | None, integration: Integration) -> Any:
    if ref is None:
        return None
    obj = resolve(ref, base=Path.cwd(), what="provider")
    if not hasattr(obj, "complete") and callable(obj):
        obj = obj(integration)
    if not hasattr(obj, "complete"):
        raise ConfigError(f"The provider {ref} has no complete(request) method.")
    return obj


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "–"
    return f"{value:.1%}" if kind == "quality" else f"{value:.6g}"


def report_table(report: EvalReport, baseline: EvalReport | None = None) -> Table:
    split = report.headline_split
    head = f"{split} split" if split != "all" else "all examples"
    table = Table(title=f"Eval: {report.variant} on {Path(report.golden).name}"
                        + (f" (version {report.version})" if report.version else ""))
    table.add_column("metric")
    table.add_column(f"{head} ({len(report.on(None))})", justify="right")
    dev = split != "all" and bool(report.on("dev"))
    if dev:
        table.add_column(f"dev split ({len(report.on('dev'))})", justify="right")
    if baseline:
        table.add_column("baseline report", justify="right")
        table.add_column("change (points)", justify="right")

    def row(label: str, now: float | None, on_dev: float | None, before: float | None,
            kind: str) -> None:
        cells = [label, _fmt(now, kind)] + ([_fmt(on_dev, kind)] if dev else [])
        if baseline:
            delta = "" if now is None or before is None or kind != "quality" else f"{(now - before) * 100:+.1f}"
            cells += [_fmt(before, kind), delta]
        table.add_row(*cells)

    row("[bold]score (headline)", report.score, report.score_on("dev"),
        baseline.score if baseline else None, "quality")
    for name, kind in report.scorers.items():
        label = name if kind == "quality" else f"{name} (mean)"
        if name in report.left_out:
            label += " [dim](not in headline)[/]"
        row(label, report.mean(name), report.mean(name, "dev"),
            baseline.mean(name) if baseline and name in baseline.scorers else None, kind)
    if report.repeat > 1:
        row(f"pass^{report.repeat}", report.pass_k(), report.pass_k("dev"), None, "quality")
    answered = sum(e.output is not None for e in report.examples)
    table.add_row("answered", f"{answered}/{len(report.examples)}")
    table.add_row("latency p50 / p95 ms",
                  f"{report.percentile('latency_ms', 50):.2f} / {report.percentile('latency_ms', 95):.2f}")
    return table


def show_report_notes(report: EvalReport) -> None:
    """Why scorers are not in the headline, which examples flip, what cannot be seen."""
    for name, why in report.left_out.items():
        console.print(f"  [dim]{name}: {why}.[/]")
    flaky = report.flaky()
    if flaky:
        console.print(f"{len(flaky)} example(s) passed in some of the {report.repeat} runs and "
                      "failed in others: " + ", ".join(
                          f"{e.id} ({e.passes(report.pass_bar)}/{len(e.runs)})" for e in flaky[:15])
                      + (" …" if len(flaky) > 15 else ""))
    for note in report.notes:
        console.print(f"[yellow]{note}[/]")


def _show_misses(report: EvalReport, limit: int = 10) -> None:
    misses = [e for e in report.examples if e.output is None]
    for e in misses[:limit]:
        console.print(f"  [yellow]{e.id}[/] ended {e.state}: {e.reason}")
    if len(misses) > limit:
        console.print(f"  … and {len(misses) - limit} more without an answer.")


@eval_app.command("run")
def run_cmd(
    integration: IntegrationArg,
    golden: GoldenOption,
    min_score: Annotated[float | None, typer.Option(help="Exit 1 below this score (a fraction, 0.9)")] = None,
    max_regression: Annotated[float | None, typer.Option(
        help="Exit 1 if the score falls more than this many points below --baseline-report")] = None,
    baseline_report: Annotated[Path | None, typer.Option(
        help="A report of an earlier run (e.g. the main branch's) to compare against")] = None,
    report: Annotated[Path | None, typer.Option(help="Write the JSON report here")] = None,
    provider: ProviderOption = None,
    repeat: Annotated[int, typer.Option(
        help="Run the golden set K times: pass^K and the examples that flip between runs")] = 1,
    pass_bar: Annotated[float, typer.Option(
        help="An example passes a run when its score reaches this (for pass^K)")] = 1.0,
    db: Annotated[str | None, typer.Option(
        "--db", envvar="SEAMLINE_DB",
        help="Record the run in this store (what `rollout start` checks) and gate on its "
             "sign-off's bar; without it (or SEAMLINE_DB) nothing is recorded")] = None,
):
    """Score the integration on a golden set through every layer (actions in dry run).

    The headline is the golden set's test split (never tuned on) from the scorers that can
    fail for the model in use; the dev split is shown beside it, for tuning. With a store,
    the run is recorded there for the go-live check, and a signed-off set's bar is the gate's."""
    existing_file(golden, "golden file")
    if max_regression is not None and baseline_report is None:
        fail("--max-regression needs --baseline-report, the report to compare against.", 2)
    spec = load_integration(integration)
    baseline = EvalReport.load(baseline_report) if baseline_report else None
    gset = read_golden(golden)
    with _progress() as progress:
        task = progress.add_task(f"eval {spec.name}", total=len(gset.examples) * max(repeat, 1))
        result = run_eval(spec, gset, provider=_provider(provider, spec),
                          on_example=lambda: progress.advance(task), repeat=repeat,
                          pass_bar=pass_bar)
    console.print(report_table(result, baseline))
    show_report_notes(result)
    if baseline and (baseline.version, len(baseline.examples)) != (result.version, len(result.examples)):
        console.print(f"[yellow]The baseline report was measured on another golden set (version "
                      f"{baseline.version or '–'}, {len(baseline.examples)} examples; now "
                      f"{result.version or '–'}, {len(result.examples)}): the change mixes both.[/]")
    if gset.unrated:
        console.print(f"{gset.unrated} unrated example(s) were left out; rate them to count them.")
    _show_misses(result)
    if report:
        result.save(report)
        console.print(f"Report written to {report}.")
    voided = ""
    if db is not None:  # the same record the go-live check reads (seamline.rollout)
        min_score, voided = _record(db, spec, result, golden, min_score,
                                    substituted=provider is not None)
    problems = gate(result, min_score=min_score, baseline=baseline, max_regression=max_regression)
    problems += [voided] if voided else []
    for sentence in problems[:-1]:
        console.print(f"[bold red]✗[/] {sentence}")
    if problems:
        fail(problems[-1], 1)


def _record(db: str, spec: Integration, report: EvalReport, golden: Path,
            min_score: float | None, *, substituted: bool) -> tuple[float | None, str]:
    """Keep the run in the store; the gate's bar: the sign-off's, or a stricter one given."""
    store = store_for(db)
    try:
        record_golden_run(store, spec, report, golden, substituted=substituted)
        bar, voided = signed_bar(store, spec, golden)
    finally:
        store.close()
    console.print(f"Run recorded in the store for the go-live check of {spec.name}"
                  + (" (a substituted provider: it does not count for go-live)." if substituted
                     else "."))
    if bar is not None and (min_score is None or bar > min_score):
        console.print(f"The signed-off bar of this golden set is {bar:.1%}: the gate uses it.")
        return bar, voided
    return min_score, voided


def comparison_table(comparison: Comparison) -> Table:
    rows = comparison.summary()
    table = Table(title=f"Compare on {Path(comparison.golden).name}")
    table.add_column("metric")
    for r in rows:
        table.add_column(r["variant"], justify="right")
    table.add_row("[bold]score (headline, test split)", *[f"{r['score']:.1%}" for r in rows])
    table.add_row("95% CI", *[f"{r['ci95'][0]:.1%}–{r['ci95'][1]:.1%}" for r in rows])
    table.add_row("score (dev split, to tune on)", *[f"{r['score_dev']:.1%}" for r in rows])
    first = next(iter(comparison.reports.values()))
    for name, kind in first.scorers.items():
        table.add_row(name, *[_fmt(r["means"].get(name), kind) for r in rows])
    table.add_row("answered", *[f"{r['answered']}/{r['examples']}" for r in rows])
    table.add_row("cost total $", *[f"{r['cost_total_usd']:.6f}" for r in rows])
    table.add_row("latency p50 ms", *[f"{r['latency_p50_ms']:.2f}" for r in rows])
    table.add_row("latency p95 ms", *[f"{r['latency_p95_ms']:.2f}" for r in rows])
    return table


@eval_app.command("compare")
def compare_cmd(
    integration: IntegrationArg,
    golden: GoldenOption,
    variant: Annotated[list[str], typer.Option(
        help="NAME=other-integration.yaml, or NAME=model=local-words,temperature=0.2 "
             "(settings: model, provider, temperature, system, user, system_file, user_file, "
             "retrieval_mode, retrieval_k, embedder, retrieval_min_score, "
             "retrieval_min_similarity)")],
    html: Annotated[Path | None, typer.Option(help="Write the HTML report (with plots) here")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the comparison as JSON")] = None,
    provider: ProviderOption = None,
):
    """Run variants side by side on one golden set; the integration as given is "base"."""
    existing_file(golden, "golden file")
    base = load_integration(integration)
    variants: dict[str, Integration] = {"base": base}
    for text in variant:
        name, spec = parse_variant(text, base)
        if name in variants:
            fail(f"Two variants are named {name!r}; give each a distinct name.", 2)
        variants[name] = spec
    gset = read_golden(golden)
    providers = {n: _provider(provider, s) for n, s in variants.items()}
    with _progress() as progress:
        task = progress.add_task("compare", total=len(gset.examples) * len(variants))
        result = compare(variants, gset, providers=providers, on_example=lambda: progress.advance(task))
    console.print(comparison_table(result))
    for note in result.notes:
        console.print(f"[yellow]{note}[/]")
    flips = result.flips()
    console.print(f"{len(flips)} example(s) flip between variants"
                  + (": " + ", ".join(f.id for f in flips[:15]) + (" …" if len(flips) > 15 else "")
                     if flips else "."))
    if html:
        write_html(result, html)
        console.print(f"HTML report written to {html}.")
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n",
                            encoding="utf-8")
        console.print(f"JSON written to {json_out}.")


@eval_app.command("sample")
def sample_cmd(
    integration: Annotated[str, typer.Argument(help="The integration's name, or its file/module:attr")],
    from_audit: Annotated[int, typer.Option("--from-audit", help="How many recorded events to draw")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The golden-set JSONL to write")],
    since: Annotated[str | None, typer.Option(help="Only events since: 7d, 12h, or 2026-11-01")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the draw, for a repeatable sample")] = 0,
    random_draw: Annotated[bool, typer.Option("--random", help="Draw at random instead of "
                                                              "taking turns across terminal states")] = False,
    db: DbOption = None,
):
    """Draw real (redacted) events into a golden set to rate; ground truth and rejections join."""
    name = integration
    if ":" in integration or Path(integration).suffix in {".yaml", ".yml", ".toml", ".py"}:
        name = load_integration(integration).name
    store = store_for(db)
    try:
        lines = sample_events(store, name, from_audit, since=parse_since(since) if since else None,
                              seed=seed, strategy="random" if random_draw else "stratified")
    finally:
        store.close()
    if not lines:
        fail(f"No recorded events of {name} to sample" + (f" since {since}" if since else "") + ".", 1)
    write_sample(lines, out, integration=name)
    rated = sum(1 for line in lines if line.get("rated"))
    console.print(f"Wrote {len(lines)} example(s) to {out}: {len(lines) - rated} to rate, {rated} already "
                  "rated from ground truth. Set \"rated\": true on each line once its output is right.")


@eval_app.command("signoff")
def signoff_cmd(
    golden: Annotated[Path, typer.Argument(help="The golden-set JSONL being signed off")],
    by: Annotated[str, typer.Option("--by", help="Who signs it off (kept in the audit trail)")],
    integration: Annotated[str | None, typer.Option(
        "--integration", "-i", help="Its integration (file or module:attr); default: the one "
                                    "the golden header names, from the file it last ran from")] = None,
    min_score: Annotated[float | None, typer.Option(
        help="The score a golden run must reach before the flag goes above 0% (a fraction; "
             "default: min_score in the golden header)")] = None,
    field: Annotated[list[str] | None, typer.Option(
        "--field", help="Another field whose values the set must cover (e.g. language)")] = None,
    window: Annotated[str, typer.Option(help="How far back production traffic is counted for "
                                             "coverage")] = "30d",
    min_coverage: Annotated[float | None, typer.Option(
        help="Refuse below this coverage of the weakest field (a fraction)")] = None,
    db: DbOption = None,
):
    """Sign off a golden set as the integration's spec: hash, size, coverage, bar; audited.

    Needs at least 20 hand-rated lines ("rated": true). An edit to the file voids the
    sign-off; `rollout start` and `flag set` above 0% need one and a passing `eval run`."""
    from seamline.durations import seconds

    existing_file(golden, "golden file")
    store = store_for(db)
    try:
        spec = _signed_integration(integration, golden, store)
        done, cov = sign_off(store, spec, golden, by=by, min_score=min_score,
                             fields=tuple(field or ()), window_s=seconds(window),
                             min_coverage=min_coverage)
    finally:
        store.close()
    console.print(f"Signed off {golden} for {spec.name} by {done.signed_by}: {done.examples} "
                  f"example(s), {done.hand_rated} hand-rated, hash {done.golden_hash[:12]}, bar "
                  f"{done.min_score:.1%}.")
    table = Table(title="Coverage of the input distribution")
    for col in ("field", "basis", "covered", "values missing (share)"):
        table.add_column(col, overflow="fold")
    for f in cov.fields:
        missing = ", ".join(f"{m['value']} ({m['share']:.0%})" for m in f.missing[:6])
        table.add_row(f"{f.name} ({f.side})", f"{f.basis} ({f.counted})", f"{f.share:.0%}",
                      missing or "–")
    unmeasured = sorted(set(field or ()) - {f.name for f in cov.fields})
    if unmeasured:  # free text with fewer than 20 recent values: no distribution to cover yet
        console.print(f"Not measured (too little recent traffic with a value): {', '.join(unmeasured)}.")
    if cov.fields:
        console.print(table)
    else:
        console.print("No categorical field to measure coverage on; name one with --field.")
    console.print(f"Next: `seamline eval run {spec.source_path or 'INTEGRATION'} --golden {golden}`"
                  " with this store, then the flag may go above 0%.")


def _signed_integration(given: str | None, golden: Path, store) -> Integration:
    """The integration a sign-off is for: given, or named by the golden header."""
    from seamline.cli._common import integration_for

    if given:
        return load_integration(given)
    header = read_golden(golden)
    try:
        first = json.loads(golden.read_text(encoding="utf-8").splitlines()[0])
    except (ValueError, IndexError):
        first = {}
    name = first.get("golden", {}).get("integration") if isinstance(first, dict) else None
    if not name:
        fail(f"The golden set {golden} does not name its integration (version "
             f"{header.version or '–'}); pass --integration FILE.", 2)
    return integration_for(store, str(name))
