"""The production eval and its drift alert: it fires on a shifted input distribution and
names the window and the layer; it stays quiet when nothing shifted."""

from __future__ import annotations

import json

from feedback_seed import (
    DAY,
    PER_DAY,
    baseline_week,
    english_only,
    integration,
    model,
    run_day,
    truthful,
    week_start,
)
from sqlalchemy import select

from seamline.alerts import list_alerts
from seamline.eval._production import production_eval, utc
from seamline.store.tables import eval_runs


def _window_after_baseline(store, spec, provider, languages):
    start = week_start()
    base = baseline_week(store, spec, start)
    run_day(store, spec, provider, 7, start, languages)
    result = production_eval(store, spec, window_s=DAY, now=start + 8 * DAY)
    return start, base, result


def test_the_baseline_week_scores_about_95_and_raises_nothing(store):
    spec = integration()
    base = baseline_week(store, spec, week_start())
    assert [b.score for b in base] == [95.0] * 7
    assert [b.examples for b in base] == [PER_DAY] * 7
    assert base[-1].baseline == 95.0 and "median of 6" in base[-1].baseline_from
    assert list_alerts(store, kind="eval_drift") == []
    with store.read() as conn:
        runs = conn.execute(select(eval_runs).where(eval_runs.c.kind == "production")).all()
    assert len(runs) == 7 and json.loads(runs[-1].details)["by_path"]["ai"]["events"] == PER_DAY


def test_a_drift_alert_fires_on_a_shifted_input_distribution_naming_the_window_and_input_shape(store):
    spec = integration()
    languages = ["de"] * 16 + ["en"] * 4  # German now dominates; the model misses German refunds
    start, _, result = _window_after_baseline(store, spec, model(english_only), languages)
    assert result.baseline == 95.0 and result.score is not None and result.score < 90.0
    assert result.alerted and result.layer == "input shape"
    [alert] = list_alerts(store, kind="eval_drift")
    labels = json.loads(alert.labels)
    assert labels["integration"] == "refunds" and labels["layer"] == "input shape"
    assert labels["window_start"] == utc(start + 7 * DAY)
    assert labels["window_end"] == utc(start + 8 * DAY)
    assert "refunds" in alert.sentence and "input shape" in alert.sentence
    assert utc(start + 7 * DAY) in alert.sentence and utc(start + 8 * DAY) in alert.sentence
    assert "'language'" in alert.sentence and "'de'" in alert.sentence
    assert "prompt version" not in alert.sentence and "parse failures" not in alert.sentence
    # an hour later the drop is still there: recorded, not paged a second time
    again = production_eval(store, spec, window_s=DAY, now=start + 8 * DAY + 3600)
    assert again.alerted and again.repeated and again.baseline == 95.0
    assert len(list_alerts(store, kind="eval_drift")) == 1


def test_no_alert_when_nothing_shifted(store):
    spec = integration()
    _, _, result = _window_after_baseline(store, spec, model(english_only), ["en"] * PER_DAY)
    assert result.score == 95.0 and not result.alerted and result.suspects == []
    assert list_alerts(store, kind="eval_drift") == []


def test_a_small_dip_within_five_points_does_not_alert(store):
    spec = integration()

    def one_more_miss(data):  # 2 of 20 wrong: 90, exactly 5 points under the baseline
        return "other" if data["ticket_id"].endswith("-002") else english_only(data)

    _, _, result = _window_after_baseline(store, spec, model(one_more_miss), ["en"] * PER_DAY)
    assert result.score == 90.0 and result.drop == 5.0 and not result.alerted
    assert list_alerts(store, kind="eval_drift") == []


def test_a_new_prompt_version_that_does_worse_is_named_as_the_likely_layer(store):
    spec = integration()
    start = week_start()
    baseline_week(store, spec, start)
    changed = integration(prompt_user="Ticket {{ ticket_id }} ({{ language }}): {{ body }}")

    def worse(data):  # the new prompt confuses the model on a third of refunds
        n = int(data["ticket_id"][-3:])
        return "other" if n % 6 == 0 else truthful(data)

    run_day(store, changed, model(worse), 7, start, ["en"] * PER_DAY)
    result = production_eval(store, changed, window_s=DAY, now=start + 8 * DAY)
    assert result.alerted and result.layer == "prompt version"
    assert [s.layer for s in result.suspects] == ["prompt version"]
    [alert] = list_alerts(store, kind="eval_drift")
    assert "likely layer: prompt version" in alert.sentence


def test_more_parse_failures_are_named_as_the_likely_layer(store):
    spec = integration()
    start = week_start()
    baseline_week(store, spec, start)

    def garbled(data):  # a quarter of the replies are not JSON: dead letters at outputs
        return None if int(data["ticket_id"][-3:]) % 4 == 1 else truthful(data)

    run_day(store, spec, model(garbled), 7, start, ["en"] * PER_DAY)
    result = production_eval(store, spec, window_s=DAY, now=start + 8 * DAY)
    assert result.dead_lettered == 5 and result.score is not None and result.score <= 75.0
    assert result.alerted and result.layer == "parse failures"
    [alert] = list_alerts(store, kind="eval_drift")
    assert "likely layer: parse failures" in alert.sentence and "5 of 20" in alert.sentence


def test_a_different_answering_model_is_named_as_the_likely_layer(store):
    spec = integration()
    start = week_start()
    baseline_week(store, spec, start)

    def cheap(data):
        return "other"

    run_day(store, spec, model(cheap, name="scripted-mini"), 7, start, ["en"] * PER_DAY)
    result = production_eval(store, spec, window_s=DAY, now=start + 8 * DAY)
    assert result.alerted and result.layer == "model"
    assert "scripted-mini" in result.suspects[0].evidence


def test_a_declared_baseline_replaces_the_median_and_a_thin_window_never_alerts(store):
    spec = integration()
    start = week_start()
    run_day(store, spec, model(english_only), 0, start, ["de"] * 6)
    thin = production_eval(store, spec, window_s=DAY, now=start + DAY, baseline=99.0)
    assert thin.baseline == 99.0 and thin.baseline_from == "declared"
    assert thin.examples == 6 and not thin.alerted  # fewer than 10 events: noise, not drift
    first = production_eval(store, spec, window_s=DAY, now=start + 2 * DAY)
    assert first.score is None and first.baseline is not None and not first.alerted


def test_a_new_language_in_free_text_is_input_shape_even_when_no_field_names_it(store):
    spec = integration()
    start = week_start()
    baseline_week(store, spec, start)

    def latin_only(data):  # the model misses refunds it cannot read
        return truthful(data) if data["body"].isascii() else "other"

    run_day(store, spec, model(latin_only), 7, start, ["ru"] * 14 + ["en"] * 6, tag="en")
    result = production_eval(store, spec, window_s=DAY, now=start + 8 * DAY)
    assert result.alerted and result.layer == "input shape"
    assert "text in 'cyrillic' went from 0% to 70%" in result.suspects[0].evidence


def test_the_drift_alert_fires_on_postgresql_too(pg_store):
    spec = integration()
    languages = ["de"] * 16 + ["en"] * 4
    start, _, result = _window_after_baseline(pg_store, spec, model(english_only), languages)
    assert result.alerted and result.layer == "input shape" and result.run_id is not None
    [alert] = list_alerts(pg_store, kind="eval_drift")
    assert utc(start + 7 * DAY) in alert.sentence
