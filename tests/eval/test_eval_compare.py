"""``eval compare``: flips, bootstrap intervals, cost and latency, and the HTML page."""

from __future__ import annotations

import pytest
from eval_fixtures import integration, scripted, write_golden
from typer.testing import CliRunner

from seamline.cli import app
from seamline.errors import ConfigError
from seamline.eval import apply_overrides, bootstrap_ci, compare, parse_variant, render_html

runner = CliRunner()


def test_bootstrap_interval_is_fixed_by_its_seed_and_holds_the_mean():
    values = [1.0] * 15 + [0.0] * 5
    lo, hi = bootstrap_ci(values)
    assert lo < 0.75 < hi and 0.5 < lo and hi <= 1.0
    assert bootstrap_ci(values) == (lo, hi)
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    assert bootstrap_ci([0.4]) == (0.4, 0.4)


def test_variants_from_settings_or_files():
    name, worse = parse_variant("worse=model=worse,temperature=0.3", integration)
    assert name == "worse" and worse.model.model == "worse" and worse.model.params["temperature"] == 0.3
    assert worse.prompt == integration.prompt and worse.name == integration.name
    assert parse_variant("same=eval_fixtures:integration", worse)[1] is integration
    prompted = apply_overrides(integration, {"user": "Only this: {{ body }}"})
    assert prompted.prompt.user == "Only this: {{ body }}"
    with pytest.raises(ConfigError, match="Unknown variant setting"):
        parse_variant("x=colour=red", integration)
    with pytest.raises(ConfigError, match="NAME=integration.yaml"):
        parse_variant("nameonly", integration)
    with pytest.raises(ConfigError, match="not a number"):
        parse_variant("x=temperature=hot", integration)


def test_compare_names_flips_and_gives_intervals(tmp_path):
    _, worse = parse_variant("worse=model=worse", integration)
    result = compare({"base": integration, "worse": worse}, write_golden(tmp_path / "g.jsonl"),
                     providers={"base": scripted(), "worse": scripted()})
    assert [f.id for f in result.flips()] == ["t3", "t4"]
    rows = {r["variant"]: r for r in result.summary()}
    assert rows["base"]["score"] == 1.0 and rows["base"]["ci95"] == [1.0, 1.0]
    assert rows["worse"]["ci95_by_scorer"]["field:label"][0] < 0.6 < rows["worse"]["ci95_by_scorer"][
        "field:label"][1]
    lo, hi = rows["worse"]["ci95"]
    assert lo < rows["worse"]["score"] < hi
    assert rows["worse"]["cost_total_usd"] > 0 and rows["base"]["latency_p95_ms"] >= rows["base"][
        "latency_p50_ms"] > 0
    page = render_html(result)
    assert page.count("<svg") == 3 and "Score (95% CI)" in page and "t3" in page
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing from a CDN


def test_the_compare_command_writes_html_and_json(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    golden = write_golden(tmp_path / "g.jsonl")
    r = runner.invoke(app, ["eval", "compare", "eval_fixtures:integration", "--golden", str(golden),
                            "--variant", "worse=model=worse", "--variant", "warm=temperature=0.9",
                            "--provider", "eval_fixtures:scripted",
                            "--html", str(tmp_path / "out" / "cmp.html"), "--json", str(tmp_path / "c.json")])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "95% CI" in said and "2 example(s) flip between variants: t3, t4" in said
    html = (tmp_path / "out" / "cmp.html").read_text()
    assert "<svg" in html and "worse" in html and "warm" in html
    assert '"flips"' in (tmp_path / "c.json").read_text()
    dup = runner.invoke(app, ["eval", "compare", "eval_fixtures:integration", "--golden", str(golden),
                              "--variant", "base=model=worse", "--provider", "eval_fixtures:scripted"])
    assert dup.exit_code == 2 and "distinct name" in " ".join(dup.output.split())
