"""The runbook as Markdown: the facts (``_facts``) and the exact commands to act on them.

Every command sits in a fenced ``sh`` block, one per line, with the integration's own
names; it exits 0 on the store it was generated from unless its comment says
``# exits N``. ``tests/cli/test_runbook.py`` runs every one of them on a copy of a store.
Commands read the store from ``SEAMLINE_DB`` (or ``--db``), so no URL, password included,
is ever written into the runbook.
"""

from __future__ import annotations

import json
import shlex
import time
from typing import Any

from seamline.runbook._facts import Facts

# Every kind of alert Seamline raises, what it means and the first thing to do.
ALERT_GUIDE: dict[str, tuple[str, str]] = {
    "rollout_rolled_back": ("A staged rollout breached its criteria and went to 0% (baseline).",
                            "Read `seamline rollout status`; fix the cause before starting again."),
    "eval_drift": (("Production accuracy fell below its baseline; the alert names the likely "
                   "layer."), "Start at the layer named; compare with `seamline feedback runs`."),
    "contract_drift": ("A source or vendor changed the shape of what it sends or answers.",
                       "Read `seamline drift`; adapt the schema or the connector."),
    "unexpected_reply": ("A connector's vendor answered in a shape it does not document.",
                         "Check the vendor's status page and API version; see `seamline drift`."),
    "oauth_credential_failed": ("An OAuth credential stopped working; its actions wait.",
                                "Authorize again with `seamline connectors auth NAME`."),
    "worker_unhealthy": ("A queue worker stopped making progress.",
                         "Read `seamline queue status`; restart the worker."),
    "budget": ("Spend reached a declared share of a cap, or a cap refused or degraded an event.",
               "Read `seamline costs`; raise the cap in the declaration or find the spender."),
    "rule_firing": ("A declared alert rule crossed its threshold.",
                    "See the rule's line below for its metric."),
    "rule_resolved": ("A declared alert rule is back within its threshold.", "Nothing."),
}
# What to do when a declared rule on each metric fires.
RULE_GUIDE = {
    "dead_letters": "Group them by reason (Dead letters above), fix the cause, redrive.",
    "approvals_waiting": "Reviewers are behind: `seamline approvals list`.",
    "error_rate": "Roll back (above), then read `seamline events list --state dead_lettered`.",
    "spend_today_usd": "Read `seamline costs`; roll back if the spend is unexpected.",
    "events": "Traffic moved: check the sources (`seamline drift`) and the edges.",
    "rollbacks": "A canary was rolled back: read `seamline rollout status`.",
}


def _q(text: str) -> str:
    return shlex.quote(text)


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at)) if at else "—"


def _cell(value: Any) -> str:
    """A table cell: one line, pipes escaped (Markdown has no other way to quote them)."""
    return str(value).replace("\n", " ").replace("|", "\\|")


def _sh(lines: list[str]) -> list[str]:
    return ["```sh", *lines, "```", ""]


def _ref(facts: Facts) -> str:
    path = facts.integration.source_path
    return _q(str(path)) if path is not None else "MODULE:ATTR"


def render(facts: Facts) -> str:
    """The whole runbook."""
    i, name = facts.integration, facts.integration.name
    out = [f"# Runbook: {name}", "",
           (f"Generated {_when(facts.generated_at)} by `seamline runbook` from the declaration "
           f"({_cell(i.source_path or 'declared in Python')}) and the store. Generate it again "
           "rather than edit it. Every command reads the store from `SEAMLINE_DB` (or `--db`)."), ""]
    out += _owner(facts) + _rollback(facts) + _dead(facts) + _alerts(facts) + _caps(facts)
    out += _connectors(facts) + _eval(facts)
    return "\n".join(out).rstrip() + "\n"


def _owner(facts: Facts) -> list[str]:
    i, c = facts.integration, facts.integration.checklist
    missing = "**missing: fill it in before hand-over**"
    out = ["## Owner and what it does", "", "| checklist | |", "|---|---|",
           f"| workflow | {_cell(c.workflow or missing)} |", f"| owner (paged) | {_cell(c.owner or missing)} |",
           f"| baseline metric | {_cell(c.baseline_metric or missing)} |",
           f"| monthly cost ceiling | {_cell(f'${c.monthly_cost_ceiling_usd:g}' if c.monthly_cost_ceiling_usd is not None else missing)} |",
           f"| model | {_cell(f'{i.model.provider}:{i.model.model}')} |", ""]
    if i.actions:
        out += ["| action | handler | approval | risk |", "|---|---|---|---|"]
        for a in i.actions:
            handler = a.handler if isinstance(a.handler, str) else getattr(a.handler, "__name__", "python")
            approval = "always" if a.approval.always else ("automatic" if a.approval.is_auto else "when its policy says")
            out.append(f"| {a.name} | `{_cell(handler)}` | {approval} | {a.risk} |")
        out.append("")
    out += ["Check the declaration is complete:", ""] + _sh([f"seamline check {_ref(facts)}"])
    return out


def _rollback(facts: Facts) -> list[str]:
    flag = _q(facts.flag)
    out = ["## Roll back, and the flag", "",
           f"The AI path is behind the flag `{facts.flag}`, now **{facts.flag_state}**"
           + (f"; its staged rollout is {facts.plan_status}" if facts.plan_status else "")
           + ". Rolling back sends every event to the baseline at once, without a deploy; "
             "a manual flip stops any rollout's automation.", ""]
    lines = ["seamline flag show", f"seamline rollout status {flag}"]
    if facts.plan_status and facts.plan_status.startswith(("running", "paused")):
        lines.append(f"seamline rollout pause {flag} --reason 'hold while we look'   # keeps the flag where it is")
    lines.append(f"seamline rollout flip {flag} off --reason 'rollback: INCIDENT'   # all traffic to the baseline, now")
    out += _sh(lines)
    start = f"seamline rollout start {_ref(facts)} --steps 5,10,25,50,100 --window 1h"
    out += ["Back on, step by step (it refuses until the golden set is signed off and passed):", ""]
    if facts.go_live:
        out += [f"Today it refuses: {_cell(facts.go_live)}", ""]
        out += _sh([f"{start}   # exits 2 until then"])
    else:
        out += _sh([start])
    return out


def _dead(facts: Facts) -> list[str]:
    name = _q(facts.integration.name)
    out = ["## Dead letters", ""]
    if not facts.dead:
        return out + ["None now. Each dead letter keeps its reason; `seamline dlq list` shows new ones.",
                      ""] + _sh([f"seamline dlq list --name {name}"])
    out += [f"{facts.dead_total} event(s) in the dead-letter queue, by reason:", "",
            "| events | stage | reason | last |", "|---:|---|---|---|"]
    out += [f"| {g.count} | {g.stage} | {_cell(g.reason)} | {_when(g.last_at)} |" for g in facts.dead]
    out += ["", ("Look at one, fix the cause (the schema, the source, the prompt), then redrive: "
                "same event ids, no action runs twice."), ""]
    lines = [f"seamline dlq list --name {name}"]
    for g in facts.dead[:10]:
        lines += [f"seamline dlq show {_q(g.example)}",
                  f"seamline dlq redrive --name {name} --reason {_q(g.reason)}"]
    return out + _sh(lines)


def _alerts(facts: Facts) -> list[str]:
    out = ["## Alerts and what to do", "",
           "Alerts go to `seamline alerts` and to `SEAMLINE_ALERT_WEBHOOK_URL` when it is set.", "",
           f"| alert | seen in {7} days | means | do |", "|---|---:|---|---|"]
    for kind, (means, do) in ALERT_GUIDE.items():
        out.append(f"| `{kind}` | {facts.alerts_seen.get(kind, 0)} | {_cell(means)} | {_cell(do)} |")
    for kind, n in sorted(facts.alerts_seen.items()):
        if kind not in ALERT_GUIDE:
            out.append(f"| `{kind}` | {n} | (not described) | Read `seamline alerts --kind {kind}`. |")
    out.append("")
    if facts.rules:
        out += [f"Declared alert rules ({_cell(facts.rules_file or 'given')}):", "",
                "| rule | metric | fires when | severity | do |", "|---|---|---|---|---|"]
        out += [f"| {_cell(r.name)} | {r.metric} | {r.threshold()} over {r.window_s:g} s | "
                f"{r.severity} | {_cell(RULE_GUIDE.get(r.metric, ''))} |" for r in facts.rules]
        out.append("")
    else:
        out += ["No alert rules were given (`seamline runbook --rules FILE` adds them).", ""]
    lines = [f"seamline alerts --days {7}"]
    lines += [f"seamline alerts --kind {_q(k)} --days 7" for k in sorted(facts.alerts_seen)]
    if facts.rules and facts.rules_file:
        lines.append(f"seamline rollout watch --rules {_q(facts.rules_file)} --once   # evaluates the rules now")
    return out + _sh(lines)


def _caps(facts: Facts) -> list[str]:
    out = ["## Caps and spend", "",
           f"Spent today (UTC): **${facts.spent_today_usd:.6f}**.", ""]
    if facts.budgets:
        out += ["| cap (model.budgets) | value |", "|---|---|"]
        out += [f"| `{k}` | {_cell(v)} |" for k, v in facts.budgets.items()]
        out.append("")
    else:
        out += ["No cap is declared under `model.budgets`.", ""]
    if facts.caps:
        out += ["| counter today | scope | spent | cap |", "|---|---|---:|---:|"]
        out += [f"| {_cell(c.cap)} | {_cell(c.tenant or c.integration)} | ${c.spent_usd:.6f} | "
                f"${c.cap_usd:g} |" for c in facts.caps]
        out.append("")
    out += [(f"To raise a cap, change it under `model.budgets` in {_cell(facts.integration.source_path or 'the declaration')} "
            "and restart the servers and workers; events refused over a cap wait in escalations "
            "and are released under the new caps:"), ""]
    return out + _sh(["seamline costs --days 1", "seamline escalations list",
                      "seamline escalations release --all   # retries them under today's caps"])


def _connectors(facts: Facts) -> list[str]:
    out = ["## Connectors and credentials", ""]
    if not facts.connectors:
        return out + ["The actions call no connector (their handlers are the integration's own code).",
                      ""] + _sh(["seamline connectors undecided"])
    out += ["| connector | actions | credentials | renewed by |", "|---|---|---|---|"]
    lines = ["seamline connectors status", "seamline connectors undecided"]
    for c in facts.connectors:
        env = ", ".join(f"`{v}` ({'set' if ok else 'not set'})" for v, ok in c.env) or "—"
        how = ("OAuth: refreshed on its own; when refresh fails, authorize again with "
               f"`seamline connectors auth {c.name}`" if c.oauth else
               "setting a new value in the variable, then restarting servers and workers")
        out.append(f"| {c.name} | {', '.join(c.actions)} | {env} | {_cell(how)} |")
    out.append("")
    for c in facts.connectors:
        if c.oauth:
            lines.append(f"seamline connectors auth {_q(c.name)} --integration {_ref(facts)} "
                         "--no-listen   # prints the URL to open; finish with --code")
    return out + _sh(lines)


def _eval(facts: Facts) -> list[str]:
    name, ref = _q(facts.integration.name), _ref(facts)
    out = ["## Last eval and drift", ""]
    s = facts.signoff
    if s is None:
        out += ["No golden set is signed off.", ""]
    else:
        state = {True: "intact", False: "**edited since: the sign-off is void**",
                 None: "not on this machine to check"}[facts.signoff_intact]
        cov = f"{s.coverage:.0%}" if s.coverage is not None else "—"
        out += [(f"Golden set `{_cell(s.golden_path)}` signed off by {_cell(s.signed_by)} on "
                f"{_when(s.created_at)}: {s.examples} examples ({s.hand_rated} hand-rated), "
                f"coverage {cov}, bar {s.min_score:.1%}, hash `{s.golden_hash[:12]}` ({state})."), ""]
        r = facts.golden_run
        out += ([(f"Last eval run for the current prompt and model: {r.score:.1%} on "
                 f"{_when(r.created_at)} (prompt {r.prompt_version}, model {_cell(r.model)}).")]
                if r else ["No eval run is recorded for the current prompt version and model."])
        out.append("")
    out += [f"Go-live: {_cell(facts.go_live) if facts.go_live else 'the flag may go above 0%.'}", ""]
    if facts.production:
        out += ["| production eval window end | events | score | baseline |", "|---|---:|---:|---:|"]
        for run in facts.production:
            base = json.loads(run.details or "{}").get("baseline")
            out.append(f"| {_when(run.window_end)} | {run.examples} | "
                       f"{'—' if run.score is None else f'{run.score:.1f}'} | "
                       f"{'—' if base is None else f'{base:.1f}'} |")
        out.append("")
    else:
        out += [("No production eval has run (`seamline feedback watch` scores recent events "
                "with ground truth)."), ""]
    out += [f"Drift alerts in {7} days: {facts.drift_alerts}.", ""]
    lines = [f"seamline feedback runs {name}", "seamline drift --days 30"]
    if s is not None and facts.signoff_intact:
        lines.append(f"seamline eval run {ref} --golden {_q(s.golden_path)}"
                     + ("" if facts.golden_run and facts.golden_run.score >= s.min_score
                        else "   # exits 1 while below the bar"))
    return out + _sh(lines)
