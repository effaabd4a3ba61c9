"""A small typed toolset shared by the agent tests (fixtures imported by each test module)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field

from seamline.agents import Tool, ToolRegistry


class CustomerArgs(BaseModel):
    customer_id: int = Field(ge=1)


class Customer(BaseModel):
    customer_id: int
    name: str


class SendArgs(BaseModel):
    to: str
    body: str


class Sent(BaseModel):
    sent: bool


class Calls:
    """What the tools were really called with, to check 'runs once'."""

    def __init__(self) -> None:
        self.sent: list[SendArgs] = []
        self.lookups: list[int] = []


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def tools(calls: Calls) -> ToolRegistry:
    def lookup(args: CustomerArgs) -> Customer:
        calls.lookups.append(args.customer_id)
        return Customer(customer_id=args.customer_id, name=f"Customer {args.customer_id}")

    def send(args: SendArgs) -> Sent:
        calls.sent.append(args)
        return Sent(sent=True)

    def delete_account(args: CustomerArgs) -> Sent:
        raise AssertionError("a forbidden tool must never run")

    return ToolRegistry([
        Tool("lookup_customer", "Find a customer by id.", CustomerArgs, Customer, lookup),
        Tool("send_reply", "Send an e-mail.", SendArgs, Sent, send, policy="approval"),
        Tool("delete_account", "Delete a customer.", CustomerArgs, Sent, delete_account,
             policy="forbidden"),
    ])
