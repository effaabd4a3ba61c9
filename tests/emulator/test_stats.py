"""The emulator counts what it injected, per kind, so a drill can report its faults."""

from __future__ import annotations

import httpx

from seamline.emulator import Emulator, FaultPlan, FaultRule

BODY = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]}


def test_stats_count_every_request_by_fault_kind_resets_included_and_reset_clears_them():
    plan = FaultPlan(rules=(FaultRule(kind="reset", nth=[2]), FaultRule(kind="rate_limit", nth=[3]),
                            FaultRule(kind="server_error", every=4)))
    with Emulator(faults=plan).serve() as emu:
        url = emu.base_url + "/v1/chat/completions"
        for _ in range(8):
            try:
                httpx.post(url, json=BODY, headers={"Authorization": "Bearer k"}, timeout=5)
            except httpx.HTTPError:
                pass  # the reset: no response at all
        stats = httpx.get(emu.base_url + "/_emulator/stats", timeout=5).json()
        assert stats["requests"] == 8 and stats["ok"] == 4
        assert stats["faults"] == {"rate_limit": 1, "reset": 1, "server_error": 2}
        assert stats["fault_share"] == 0.5
        assert emu.summary() == ("emulator: 8 requests, 4 faults (50.0%): server_error 2, "
                                 "rate_limit 1, reset 1")
        emu.reset()
        assert emu.stats()["requests"] == 0 and emu.stats()["faults"] == {}
