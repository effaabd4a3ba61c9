"""A declaration's numbers are finite: ``.inf`` or ``.nan`` in a YAML file is refused when the
integration loads, with a sentence, instead of failing at the first retry at 3 am."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from seamline.integration import QueueSpec, RetrySpec, StreamSpec, TumblingWindow


@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_an_infinite_or_missing_number_is_refused_in_every_declaration(value):
    with pytest.raises(ValidationError, match="finite number"):
        RetrySpec(max_delay_s=value)
    with pytest.raises(ValidationError, match="finite number"):
        QueueSpec(backoff_max_s=value)
    with pytest.raises(ValidationError, match="finite number"):
        StreamSpec(key_field="k", time_field="t", window=TumblingWindow(size=10),
                   idle_timeout=value)


def test_finite_numbers_are_kept():
    assert RetrySpec(max_delay_s=12.5).max_delay_s == 12.5
