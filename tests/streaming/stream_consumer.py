"""A consumer process for the crash tests: runs a StreamRunner, and can SIGKILL itself at
the two moments a crash hurts most (state committed but not acked; decision recorded but
the window not yet marked decided). Prints its RunStats as JSON on a clean exit."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from stream_helpers import risk_model, stream_integration

from seamline.store import open_store
from seamline.streaming import StreamRunner, StreamSpec, open_source


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--consumer", default="c1")
    ap.add_argument("--spec", required=True, help="StreamSpec as JSON")
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--idle-exit", type=float, default=1.0)
    ap.add_argument("--kill-before-ack", type=int, default=0, help="die before acking batch N")
    ap.add_argument("--kill-after-decision", type=int, default=0,
                    help="die after decision N is recorded, before its window is marked")
    ap.add_argument("--pause", type=float, default=0.0, help="seconds to sleep after each batch")
    ap.add_argument("--start-gate", default="",
                    help="once ready, write GATE.<consumer> and wait for GATE before reading")
    args = ap.parse_args()

    spec = StreamSpec.model_validate_json(args.spec)
    store = open_store(args.db)
    source = open_source(args.source, consumer=args.consumer)
    runner = StreamRunner(stream_integration(spec), store, source, provider=risk_model(),
                          batch=args.batch)

    acks, decisions = 0, 0
    ack, mark = source.ack, runner.state.mark_decided

    def ack_or_die(messages):
        nonlocal acks
        acks += 1
        if acks == args.kill_before_ack:
            os.kill(os.getpid(), signal.SIGKILL)
        ack(messages)
        if args.pause:
            time.sleep(args.pause)

    def mark_or_die(window, event_id):
        nonlocal decisions
        decisions += 1
        if decisions == args.kill_after_decision:
            os.kill(os.getpid(), signal.SIGKILL)
        mark(window, event_id)

    source.ack = ack_or_die  # type: ignore[method-assign]
    runner.state.mark_decided = mark_or_die  # type: ignore[method-assign]
    if args.start_gate:  # consumers of one group start together, however slow their imports
        gate = Path(args.start_gate)
        gate.with_name(f"{gate.name}.{args.consumer}").touch()
        deadline = time.monotonic() + 60
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    stats = runner.run(idle_exit_s=args.idle_exit, poll_s=0.2)
    runner.close()
    print(json.dumps({"delivered": stats.delivered, "outcomes": dict(stats.outcomes),
                      "decisions": dict(stats.decisions)}))


if __name__ == "__main__":
    main()
