"""Prices: a shipped table per model, a user file laid over it without a release, cache rates."""

from __future__ import annotations

import os
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import make_integration

from seamline.errors import ConfigError
from seamline.inference import BudgetLedger, Usage, price
from seamline.inference._pricing import (
    SHIPPED,
    Price,
    PriceTable,
    cost,
    default_table,
    price_usage,
    route_price,
)
from seamline.integration import ModelRoute

REPO = Path(__file__).resolve().parents[2]


def integration_on(model: str, provider: str = "anthropic", **route):
    return make_integration(model=ModelRoute(provider=provider, model=model, max_output_tokens=100,
                                             context_window=2000, **route))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _no_user_prices(monkeypatch):
    monkeypatch.delenv("SEAMLINE_PRICES", raising=False)


# ------------------------------------------------------------------ the table


def test_the_shipped_table_prices_current_anthropic_and_openai_models():
    table = default_table()
    sonnet = table.lookup("claude-sonnet-4-5")
    assert (sonnet.input, sonnet.output, sonnet.cache_write, sonnet.cache_read) == (3.0, 15.0, 3.75, 0.30)
    assert sonnet.batch_discount == 0.5
    assert table.lookup("gpt-4o-mini").input == 0.15
    assert table.lookup("gpt-4o").input == 2.50
    for model in ("claude-opus-4-5", "claude-haiku-4-5", "gpt-5", "gpt-4.1-mini", "o4-mini"):
        assert table.lookup(model).output > 0, model


def test_on_device_and_scripted_models_are_free():
    table = default_table()
    assert table.lookup("local-linear") == Price(0, 0)
    assert table.lookup("local-words") == Price(0, 0)
    assert table.lookup("scripted-1") == Price(0, 0)


def test_a_dated_model_name_is_priced_by_the_longest_key_it_starts_with():
    table = default_table()
    assert table.lookup("claude-sonnet-4-5-20250929") == table.lookup("claude-sonnet-4")
    assert table.lookup("gpt-4o-mini-2024-07-18") == table.lookup("gpt-4o-mini")  # not gpt-4o's
    assert table.lookup("gpt-4o-2024-08-06") == table.lookup("gpt-4o")
    assert table.lookup("claude-opus-4-5-20251101").input == 5.0  # not claude-opus-4's $15


def test_an_exact_name_wins_over_a_prefix():
    table = PriceTable({"m": {"input": 1, "output": 1}, "m-large": {"input": 9, "output": 9},
                        "m-large-*": {"input": 5, "output": 5}})
    assert table.lookup("m-large").input == 9
    assert table.lookup("m-large-2").input == 5
    assert table.lookup("m-small").input == 1
    assert table.lookup("other") is None


def test_a_star_key_is_a_prefix_only():
    table = PriceTable({"fam-*": {"input": 1, "output": 1}})
    assert table.lookup("fam-") is not None and table.lookup("fam-x") is not None
    assert table.lookup("fam") is None


def test_cache_rates_default_to_the_input_rate_and_batch_discount_to_none():
    p = Price(2.0, 8.0)
    assert (p.cache_write, p.cache_read, p.batch_discount) == (2.0, 2.0, 0.0)


@pytest.mark.parametrize("bad", [{"input": -1.0, "output": 1.0},
                                 {"input": 1.0, "output": 1.0, "batch_discount": 1.5},
                                 {"input": float("nan"), "output": 1.0}])
def test_a_negative_or_impossible_rate_is_refused(bad):
    with pytest.raises(ValueError):
        Price(**bad)


# ---------------------------------------------------------------------- cost


def test_cost_counts_every_kind_of_token_at_its_own_rate():
    p = Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30, batch_discount=0.5)
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cache_write_tokens=200_000,
                  cache_read_tokens=2_000_000)
    expected = 3.0 + 1.5 + 0.75 + 0.60
    assert cost(usage, p) == pytest.approx(expected)
    assert cost(usage, p, batch=True) == pytest.approx(expected / 2)
    assert cost(Usage(), p) == 0.0


def test_price_usage_prices_a_call_from_the_table_when_the_route_sets_no_prices():
    integ = integration_on("claude-haiku-4-5")
    usage = Usage(input_tokens=10_000, output_tokens=1_000, cache_read_tokens=50_000)
    assert price_usage(integ, usage) == pytest.approx((10_000 * 1.0 + 1_000 * 5.0 + 50_000 * 0.1) / 1e6)
    assert price_usage(integ, usage, batch=True) == pytest.approx(price_usage(integ, usage) / 2)
    assert price(integ, 10_000, 1_000) == pytest.approx((10_000 * 1.0 + 1_000 * 5.0) / 1e6)


# ---------------------------------------------------------- route prices win


def test_prices_declared_on_the_route_win_over_the_table():
    integ = integration_on("claude-sonnet-4-5", input_usd_per_mtok=2.4, output_usd_per_mtok=12.0)
    p = route_price(integ.model)
    assert (p.input, p.output) == (2.4, 12.0)
    # Cache rates keep the table's ratio to the input rate: writes 1.25x, reads 0.1x.
    assert p.cache_write == pytest.approx(3.0) and p.cache_read == pytest.approx(0.24)
    assert price(integ, 1_000_000, 1_000_000) == pytest.approx(14.4)


def test_a_route_declaring_prices_may_name_any_model():
    integ = integration_on("my-finetune", provider="openai", input_usd_per_mtok=1.0,
                           output_usd_per_mtok=2.0)
    assert route_price(integ.model) == Price(1.0, 2.0)


def test_a_route_declaring_zero_prices_is_free_even_for_a_model_the_table_does_not_know():
    integ = integration_on("llama-3.1-8b", provider="openai-compatible", input_usd_per_mtok=0.0,
                           output_usd_per_mtok=0.0)
    assert price_usage(integ, Usage(1000, 1000)) == 0.0


def test_an_unknown_model_without_route_prices_is_a_config_error_naming_it_and_the_fix():
    integ = integration_on("gpt-99-turbo", provider="openai")
    with pytest.raises(ConfigError, match="gpt-99-turbo") as err:
        price_usage(integ, Usage(10, 10))
    assert "SEAMLINE_PRICES" in str(err.value) and "input_usd_per_mtok" in str(err.value)


def test_a_ledger_for_an_unknown_model_is_refused_before_any_event():
    with pytest.raises(ConfigError, match="no price for model 'gpt-99-turbo'"):
        BudgetLedger(integration_on("gpt-99-turbo", provider="openai"))


# ---------------------------------------------------- updating without a release


def test_a_user_price_file_overlays_the_shipped_table_field_by_field(tmp_path, monkeypatch):
    user = write(tmp_path / "prices.toml", """
[models."claude-sonnet-4"]
input = 2.0

[models."acme-model"]
input = 0.5
output = 1.5
cache_read = 0.05
""")
    monkeypatch.setenv("SEAMLINE_PRICES", str(user))
    table = default_table()
    sonnet = table.lookup("claude-sonnet-4-5")
    assert (sonnet.input, sonnet.output, sonnet.cache_write) == (2.0, 15.0, 3.75)
    acme = table.lookup("acme-model-v2")
    assert (acme.input, acme.output, acme.cache_write, acme.cache_read) == (0.5, 1.5, 0.5, 0.05)
    assert table.lookup("gpt-4o").input == 2.5  # untouched
    assert str(user) in table.sources


def test_an_edited_price_file_takes_effect_without_a_restart(tmp_path, monkeypatch):
    user = write(tmp_path / "prices.toml", '[models."acme"]\ninput = 1.0\noutput = 1.0\n')
    monkeypatch.setenv("SEAMLINE_PRICES", str(user))
    integ = integration_on("acme", provider="openai")
    led = BudgetLedger(integ, global_daily_usd=None)
    assert price_usage(integ, Usage(1_000_000, 0)) == pytest.approx(1.0)
    write(user, '[models."acme"]\ninput = 4.0\noutput = 1.0\n')
    st = user.stat()
    os.utime(user, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert price_usage(integ, Usage(1_000_000, 0)) == pytest.approx(4.0)
    assert led.estimate(1_000_000) == pytest.approx(4.0 + 100 * 1.0 / 1e6)


@pytest.mark.parametrize("text, words", [
    ("models = [", "not valid TOML"),
    ('[models."x"]\ninput = 1.0\noutput = 1.0\nprice = 3\n', "unknown field"),
    ('[models."x"]\ninput = 1.0\n', "lacks output"),
    ('[models."x"]\ninput = -1.0\noutput = 1.0\n', "invalid"),
    ('[prices."x"]\ninput = 1.0\n', "only"),
])
def test_a_bad_price_file_is_a_config_error_naming_the_file(tmp_path, monkeypatch, text, words):
    user = write(tmp_path / "bad-prices.toml", text)
    monkeypatch.setenv("SEAMLINE_PRICES", str(user))
    with pytest.raises(ConfigError, match=words) as err:
        default_table()
    assert "bad-prices.toml" in str(err.value)


def test_a_missing_price_file_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SEAMLINE_PRICES", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="nope.toml"):
        default_table()


# ---------------------------------------------------------------- estimates


def test_the_estimate_is_the_worst_case_prompt_tokens_at_the_cache_write_rate_and_all_output():
    led = BudgetLedger(integration_on("claude-sonnet-4-5"), global_daily_usd=None)
    assert led.estimate(1000) == pytest.approx((1000 * 3.75 + 100 * 15.0) / 1e6)


# ------------------------------------------------------------------ shipping


def test_the_price_table_ships_inside_the_package():
    assert SHIPPED.parent.name == "inference" and SHIPPED.is_file()
    assert tomllib.loads(SHIPPED.read_text())["models"]


def test_the_wheel_contains_the_price_table(tmp_path, monkeypatch):
    from hatchling.build import build_wheel  # the PEP 517 hook pip itself calls

    monkeypatch.chdir(REPO)
    whl = tmp_path / build_wheel(str(tmp_path))
    with zipfile.ZipFile(whl) as zf:
        assert "seamline/inference/prices.toml" in zf.namelist()
