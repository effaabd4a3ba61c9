"""A provider emulator: a local server speaking Anthropic Messages and OpenAI Chat Completions.

It sits outside the seven layers, on the far side of the inference seam: answers
come from a pluggable backend (a script or a Seamline provider), faults from a
per-run :class:`FaultPlan`, and every request received is recorded. Tests drive
every provider path through it over real HTTP with the official SDKs; teams use it
for staging chaos drills (``seamline emulate``).
"""

from seamline.emulator._backend import (
    Backend,
    EmulatedRequest,
    LocalModelBackend,
    ScriptBackend,
    echo_backend,
    load_script_backend,
)
from seamline.emulator._citations import Cite, CitedReply, cite, cited
from seamline.emulator._faults import FaultPlan, FaultRule, Latency
from seamline.emulator._server import ConnectionDropped, Emulator, RecordedRequest
from seamline.emulator._tools import ToolUseReply, tool_use

__all__ = [
    "Backend", "Cite", "CitedReply", "ConnectionDropped", "EmulatedRequest", "Emulator",
    "FaultPlan", "FaultRule", "Latency", "LocalModelBackend", "RecordedRequest",
    "ScriptBackend", "ToolUseReply", "cite", "cited", "echo_backend", "load_script_backend",
    "tool_use",
]
