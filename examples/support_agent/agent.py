"""The support agent example: look up a customer, draft a reply, send it after a person approves.

Runs with no key: the model is a deterministic scripted *policy* (``policy`` below), a
stand-in for a real model that makes the same tool calls a good one would. Set
``SEAMLINE_AGENT_MODEL=anthropic:claude-haiku-4-5`` (or ``openai:gpt-4.1-mini``, with the
vendor's key, or ``..._BASE_URL`` pointing at ``seamline emulate``) to use a real one.

    seamline agent run examples/support_agent/agent.py:build_agent "Customer 1001 asks where order 55 is"
    seamline agent run examples/support_agent/agent.py:build_agent "Customer 1002 asks how long a refund takes"
    seamline agent resume examples/support_agent/agent.py:build_agent RUN_ID --approve --reviewer ana
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from seamline.agents import (
    Agent,
    AnthropicAgentModel,
    OpenAIAgentModel,
    RunLimits,
    ScriptedAgentModel,
    Tool,
    ToolCall,
    ToolRegistry,
    Turn,
)

CUSTOMERS = Path(__file__).parent / "data" / "customers.json"
# The support-answer example's documentation: questions that are not about an order are
# answered from it, quoted and cited, under the same approval before sending.
DOCS = Path(__file__).parents[1] / "support_answer" / "docs"

SYSTEM = ("You are a support agent. Look the customer up, draft a short, friendly reply about "
          "their question, then send it. Never invent order details.")


# ---- tools ----------------------------------------------------------------------------------

class LookupArgs(BaseModel):
    customer_id: int = Field(ge=1, description="The customer's id, e.g. 1001")


class Order(BaseModel):
    id: int
    status: str
    carrier: str
    eta: str


class Customer(BaseModel):
    id: int
    name: str
    email: str
    plan: str
    last_order: Order


class SearchArgs(BaseModel):
    query: str = Field(min_length=3, description="The customer's question, in their words")


class Passage(BaseModel):
    chunk_id: str
    title: str
    text: str


class Found(BaseModel):
    abstain: bool = Field(description="True when nothing in the documentation fits")
    passages: list[Passage]


class DraftArgs(BaseModel):
    customer_id: int = Field(ge=1)
    question: str = Field(min_length=1)
    passage: Passage | None = Field(None, description="A passage from search_docs to quote")


class Draft(BaseModel):
    to: str
    subject: str
    body: str


class SendArgs(BaseModel):
    to: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    subject: str = Field(min_length=1)
    body: str = Field(min_length=1)


class Sent(BaseModel):
    message_id: str


def _customer(customer_id: int) -> Customer:
    for row in json.loads(CUSTOMERS.read_text(encoding="utf-8")):
        if row["id"] == customer_id:
            return Customer.model_validate(row)
    raise LookupError(f"no customer has id {customer_id}")


def lookup_customer(args: LookupArgs) -> Customer:
    return _customer(args.customer_id)


def search_docs(args: SearchArgs) -> Found:
    """Retrieval as a tool: BM25 over the documentation, abstaining below the threshold."""
    from seamline.retrieval import ChunkIndex, retrieve

    path = Path(os.environ.get("SUPPORT_AGENT_INDEX", ".seamline/index/support_agent.db"))
    with ChunkIndex.open(path) as index:
        index.build(DOCS)  # incremental: unchanged pages cost a hash each
        found = retrieve(index, args.query, k=3)
    return Found(abstain=found.abstain, passages=[
        Passage(chunk_id=d["id"], title=d["title"], text=d["text"]) for d in found.documents()])


def draft_reply(args: DraftArgs) -> Draft:
    """Drafting is deterministic here (a template); a real deployment may ask a model."""
    c = _customer(args.customer_id)
    if args.passage is not None:
        quote = args.passage.text.split("\n\n")[0].strip()
        body = (f"Hello {c.name.split()[0]},\n\nThank you for writing. From our documentation "
                f"({args.passage.title}):\n\n> {quote}\n\n[{args.passage.chunk_id}]\n\n"
                "Best regards,\nSupport")
        return Draft(to=c.email, subject="About your question", body=body)
    o = c.last_order
    where = {"shipped": f"is on its way with {o.carrier} and should arrive by {o.eta}",
             "processing": f"is being prepared and should ship so as to arrive by {o.eta}",
             "delivered": f"was delivered by {o.carrier} on {o.eta}"}.get(o.status, f"is {o.status}")
    body = (f"Hello {c.name.split()[0]},\n\nThank you for writing. Your order {o.id} {where}.\n\n"
            "Best regards,\nSupport")
    return Draft(to=c.email, subject=f"About your order {o.id}", body=body)


def send_reply(args: SendArgs) -> Sent:
    """Stands in for the mail connector; runs only after a reviewer approved the call."""
    digest = hashlib.sha256(f"{args.to}\n{args.body}".encode()).hexdigest()[:16]
    return Sent(message_id=f"msg-{digest}")


def tools() -> ToolRegistry:
    return ToolRegistry([
        Tool("lookup_customer", "Look a customer up by id: name, e-mail, plan, last order.",
             LookupArgs, Customer, lookup_customer),
        Tool("search_docs", "Search the product documentation; abstains when nothing fits.",
             SearchArgs, Found, search_docs),
        Tool("draft_reply", "Draft a reply to a customer's question (not sent).",
             DraftArgs, Draft, draft_reply),
        Tool("send_reply", "Send an e-mail reply to a customer. A person approves it first.",
             SendArgs, Sent, send_reply, policy="approval"),
    ])


# ---- the scripted policy model --------------------------------------------------------------

def policy(turns: Sequence[Turn]) -> ToolCall | str:
    """What a careful model would do next, decided from the conversation so far."""
    task = turns[0].text
    results = {t.tool_call_id: t for t in turns if t.role == "tool"}
    made = [(c, results.get(c.id)) for t in turns if t.role == "assistant" for c in t.tool_calls]
    last_call, last_result = made[-1] if made else (None, None)
    if last_call is None:
        found = re.search(r"\b(\d{4,})\b", task)
        if not found:
            return "Which customer is this about? I need their customer id."
        return ToolCall("", "lookup_customer", {"customer_id": int(found.group(1))})
    if last_result is not None and last_result.is_error:
        return f"I could not finish: {last_result.text}"
    if last_call.name == "lookup_customer":
        customer_id = last_call.arguments["customer_id"]
        if not re.search(r"\border\b", task, re.IGNORECASE):  # a product question: look it up
            question = re.sub(r"^\s*customer\s+\d+\s+(asks|says|writes)?\s*", "", task,
                              flags=re.IGNORECASE) or task
            return ToolCall("", "search_docs", {"query": question})
        return ToolCall("", "draft_reply", {"customer_id": customer_id, "question": task})
    if last_call.name == "search_docs" and last_result is not None:
        found = json.loads(last_result.text)
        if found["abstain"]:
            return "The documentation does not answer this; a person should reply."
        customer_id = next(c.arguments["customer_id"] for c, _ in made
                           if c.name == "lookup_customer")
        return ToolCall("", "draft_reply", {"customer_id": customer_id, "question": task,
                                            "passage": found["passages"][0]})
    if last_call.name == "draft_reply" and last_result is not None:
        return ToolCall("", "send_reply", json.loads(last_result.text))
    if last_call.name == "send_reply" and last_result is not None:
        return f"Sent the reply to {last_call.arguments['to']} ({json.loads(last_result.text)['message_id']})."
    return "Done."


def build_model():
    """The scripted policy by default; a real provider when SEAMLINE_AGENT_MODEL names one."""
    chosen = os.environ.get("SEAMLINE_AGENT_MODEL", "scripted")
    provider, _, model = chosen.partition(":")
    if provider == "anthropic":
        return AnthropicAgentModel(model, base_url=os.environ.get("ANTHROPIC_BASE_URL"))
    if provider == "openai":
        return OpenAIAgentModel(model, base_url=os.environ.get("OPENAI_BASE_URL"))
    return ScriptedAgentModel(policy)


def build_agent() -> Agent:
    return Agent("support_agent", build_model(), tools(), SYSTEM,
                 RunLimits(max_steps=8, max_tokens=20_000, max_cost_usd=0.05))
