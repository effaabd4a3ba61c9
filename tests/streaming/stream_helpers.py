"""Helpers of the stream tests: real Redis and NATS JetStream at their local ports, a
unique stream per test (deleted afterwards), and a risk-scoring integration over windows."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import redis
from pydantic import BaseModel, Field

from seamline.inference import ScriptedModel
from seamline.integration import Checklist, Integration, ModelRoute, PromptSpec
from seamline.streaming import StreamSpec, WindowInput

REDIS_URL = "redis://127.0.0.1:6379/0"
NATS_URL = "nats://127.0.0.1:4222"


class Risk(BaseModel):
    score: float = Field(ge=0, le=1)
    level: str


def risk_model() -> ScriptedModel:
    """Scores a window by its number of events, read back from the prompt."""
    def answer(request) -> dict:
        count = int(request.messages[-1].content.split("count=")[1].split()[0])
        return {"score": min(1.0, count / 10), "level": "high" if count >= 5 else "low"}
    return ScriptedModel(answer)


def stream_integration(spec: StreamSpec, name: str = "risk") -> Integration:
    return Integration(
        name=name,
        checklist=Checklist(workflow="Score a customer's recent activity.", owner="risk",
                            baseline_metric="manual review", monthly_cost_ceiling_usd=10),
        input_schema=WindowInput, output_schema=Risk,
        pii={"window_id": "allow", "stream": "allow", "key": "allow"},
        prompt=PromptSpec(system="Score the risk.",
                          user="customer={{ key }} count={{ count }} events={{ events | length }}"),
        model=ModelRoute(provider="scripted", model="scripted-risk"),
        stream=spec,
    )


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    client.ping()
    yield client
    client.close()


@pytest.fixture
def redis_stream(redis_client):
    """A fresh stream name; the stream (and its groups) is deleted after the test."""
    name = f"seamline-test-{uuid.uuid4().hex[:10]}"
    yield name
    redis_client.delete(name)


def publish_redis(client: redis.Redis, stream: str, events: list[dict]) -> list[str]:
    pipe = client.pipeline(transaction=False)
    for event in events:
        pipe.xadd(stream, {"data": json.dumps(event)})
    return pipe.execute()


@pytest.fixture
def nats_stream():
    """A fresh JetStream stream (name, subject); deleted after the test."""
    import nats

    name = f"SEAMLINE_TEST_{uuid.uuid4().hex[:10].upper()}"
    subject = f"seamline.test.{name.lower()}"

    async def create():
        nc = await nats.connect(NATS_URL)
        await nc.jetstream().add_stream(name=name, subjects=[subject])
        await nc.close()

    async def remove():
        nc = await nats.connect(NATS_URL)
        await nc.jetstream().delete_stream(name)
        await nc.close()

    asyncio.run(create())
    yield name, subject
    asyncio.run(remove())


def publish_nats(subject: str, events: list[dict]) -> None:
    import nats

    async def send():
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        for event in events:
            await js.publish(subject, json.dumps(event).encode())
        await nc.close()

    asyncio.run(send())


class ListSource:
    """An in-process source of the same interface, for window-state tests that need no broker:
    each ``fetch`` hands out the next batch, each message id is its position."""

    name = "list"

    def __init__(self, events: list[dict], start: int = 0) -> None:
        from seamline.streaming import SourceMessage

        self.messages = [SourceMessage(f"list:{i}", e) for i, e in enumerate(events, start)]
        self.acked: list[str] = []

    def fetch(self, max_messages: int, timeout_s: float):
        batch, self.messages = self.messages[:max_messages], self.messages[max_messages:]
        return batch

    def ack(self, messages) -> None:
        self.acked.extend(m.id for m in messages)

    def close(self) -> None:
        pass
