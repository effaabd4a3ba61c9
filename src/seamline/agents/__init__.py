"""Agents: a model calling typed tools under hard limits, with approval pauses and a full audit trail.

Sits beside the seven layers and reuses them: pricing from inference, the approval queue
from actions (outbox rows ``tool:NAME``), the audit chain under the run id, the store.
"""

from seamline.agents._client import (
    AgentModel,
    AgentReply,
    AnthropicAgentModel,
    OpenAIAgentModel,
    ScriptedAgentModel,
    ToolCall,
    Turn,
)
from seamline.agents._lease import LeaseLost, heartbeat_age, is_stale
from seamline.agents._limits import RunLimits, RunUsage, price_call
from seamline.agents._recover import NotRecoverable, StaleRun, recover_run, stale_runs
from seamline.agents._run import Agent, RunResult, resume_run, start_run
from seamline.agents._store import RunState, decided_runs, list_runs, load_run
from seamline.agents._tools import Policy, Tool, ToolArgumentsInvalid, ToolRegistry

__all__ = [
    "Agent",
    "AgentModel",
    "AgentReply",
    "AnthropicAgentModel",
    "LeaseLost",
    "NotRecoverable",
    "OpenAIAgentModel",
    "Policy",
    "RunLimits",
    "RunResult",
    "RunState",
    "RunUsage",
    "ScriptedAgentModel",
    "StaleRun",
    "Tool",
    "ToolArgumentsInvalid",
    "ToolCall",
    "ToolRegistry",
    "Turn",
    "decided_runs",
    "heartbeat_age",
    "is_stale",
    "list_runs",
    "load_run",
    "price_call",
    "recover_run",
    "resume_run",
    "stale_runs",
    "start_run",
]
