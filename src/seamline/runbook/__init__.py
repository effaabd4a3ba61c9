"""Runbooks: what the team running an integration needs at hand-over, generated.

``runbook(store, integration)`` writes it in Markdown from the declaration and the store:
owner and what it does, rollback and flag commands, dead letters by reason and how to
redrive them, every alert and what to do, caps and today's spend, connectors and how their
credentials are renewed, the last eval and drift. ``commands`` lists the shell commands it
gives (its fenced ``sh`` blocks), each with the exit code it documents. The console shows
the same document (``/console/runbook/NAME``).
"""

from seamline.runbook._commands import Command, commands
from seamline.runbook._facts import Facts, gather
from seamline.runbook._markdown import ALERT_GUIDE, render

__all__ = ["ALERT_GUIDE", "Command", "Facts", "commands", "gather", "render", "runbook"]


def runbook(store, integration, *, rules=None, rules_file=None, now=None) -> str:
    """The integration's runbook, in Markdown, as the store says things are now."""
    return render(gather(store, integration, rules=rules, rules_file=rules_file, now=now))
