"""An agent whose process kills itself (SIGKILL) at a chosen point: the crash-recovery fixture.

Named on the command line as ``tests/agents/crashing_agent.py:build_agent``; configured by
the environment, read when the agent is built:

- ``CRASH_MARKS``: a file every tool's effect appends one line to (the tests count them);
- ``CRASH_AT``: ``TOOL`` — die right after that tool's effect, before its result is saved;
  ``model:N`` — die in the N-th model call (after its reservation, before any reply);
  ``hang:TOOL`` — sleep a minute after that tool's effect (a live run, for a test to see);
- ``CRASH_SCRIPT``: ``lookup`` (two read-only lookups), ``charge`` (an ``auto`` tool with
  side effects) or ``send`` (an approval tool); ``CRASH_LEASE``: the lease in seconds;
- ``CRASH_LEDGER=1``: hold the run to a test integration's daily cap (a cost ledger).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from seamline.agents import (
    Agent,
    RunLimits,
    ScriptedAgentModel,
    Tool,
    ToolCall,
    ToolRegistry,
    Turn,
)

SCRIPTS = {
    "lookup": [ToolCall("", "lookup_customer", {"customer_id": 7}),
               ToolCall("", "lookup_customer", {"customer_id": 8}), "Both found."],
    "charge": [ToolCall("", "lookup_customer", {"customer_id": 7}),
               ToolCall("", "charge_card", {"customer_id": 7, "cents": 3000}), "Charged."],
    "send": [ToolCall("", "lookup_customer", {"customer_id": 7}),
             ToolCall("", "send_reply", {"to": "a@example.com", "body": "Hello"}), "Sent."],
}


class LookupArgs(BaseModel):
    customer_id: int


class Customer(BaseModel):
    customer_id: int
    name: str


class ChargeArgs(BaseModel):
    customer_id: int
    cents: int


class SendArgs(BaseModel):
    to: str
    body: str


class Done(BaseModel):
    done: bool


def _effect(tool: str, detail: str) -> None:
    """The tool's side effect (a line in the marks file), then maybe the crash."""
    with open(os.environ["CRASH_MARKS"], "a", encoding="utf-8") as f:
        f.write(f"{tool} {detail}\n")
        f.flush()
        os.fsync(f.fileno())
    at = os.environ.get("CRASH_AT", "")
    if at == tool:
        os.kill(os.getpid(), signal.SIGKILL)
    if at == f"hang:{tool}":
        time.sleep(60)


def lookup(args: LookupArgs) -> Customer:
    _effect("lookup_customer", str(args.customer_id))
    return Customer(customer_id=args.customer_id, name=f"Customer {args.customer_id}")


def charge(args: ChargeArgs) -> Done:
    _effect("charge_card", f"{args.customer_id} {args.cents}")
    return Done(done=True)


def send(args: SendArgs) -> Done:
    _effect("send_reply", args.body)
    return Done(done=True)


def _ledger():
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for conftest
    from conftest import make_integration

    from seamline.inference import BudgetLedger
    from seamline.integration import Budgets, ModelRoute

    route = ModelRoute(provider="scripted", model="scripted-1", input_usd_per_mtok=1000.0,
                       output_usd_per_mtok=1000.0, max_output_tokens=100, context_window=4000,
                       budgets=Budgets(per_call_usd=None, daily_usd=50.0))
    return BudgetLedger(make_integration(model=route), global_daily_usd=None)


def build_agent() -> Agent:
    steps = SCRIPTS[os.environ.get("CRASH_SCRIPT", "lookup")]
    scripted = ScriptedAgentModel(steps)

    def policy(turns: Sequence[Turn]):
        n = sum(1 for t in turns if t.role == "assistant") + 1  # this is the n-th model call
        if os.environ.get("CRASH_AT") == f"model:{n}":
            os.kill(os.getpid(), signal.SIGKILL)
        return scripted.policy(turns)

    tools = ToolRegistry([
        Tool("lookup_customer", "Find a customer.", LookupArgs, Customer, lookup),
        Tool("charge_card", "Charge a card.", ChargeArgs, Done, charge, side_effects=True),
        Tool("send_reply", "Send an e-mail.", SendArgs, Done, send, policy="approval"),
    ])
    return Agent("crashing_agent", ScriptedAgentModel(policy), tools, "Be careful.",
                 RunLimits(max_steps=8, max_cost_usd=10.0),
                 ledger=_ledger() if os.environ.get("CRASH_LEDGER") == "1" else None,
                 lease_s=float(os.environ.get("CRASH_LEASE", "60")))
