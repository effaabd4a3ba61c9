"""Layer 3, inference: OpenAI Chat Completions (and compatible servers) through the ``openai`` SDK.

One wire format, two providers: ``openai`` and ``openai-compatible`` (vLLM, Ollama,
llama.cpp, Together …) differ only in base URL, key, how much structured output the
server supports, and the field that caps the reply: OpenAI deprecated ``max_tokens`` for
``max_completion_tokens``, which its reasoning models (o1, o3, o4-mini, gpt-5) require
(https://platform.openai.com/docs/api-reference/chat/create), while many compatible
servers know only ``max_tokens``. The SDK's own retries are off: Seamline's policy decides.
"""

from __future__ import annotations

import json
import os
from typing import Any, Final, Literal

import openai
from openai.types.chat import ChatCompletion

from seamline.errors import (
    ConfigError,
    ContentRefused,
    ProviderError,
    ProviderUnavailable,
    RequestRejected,
)
from seamline.inference._batch import item_error
from seamline.inference._sdk_errors import classify
from seamline.inference._types import ModelReply, ModelRequest, Usage

_PASSED_PARAMS = ("temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")
Structured = Literal["json_schema", "json_object", "none"]
TokensParam = Literal["max_completion_tokens", "max_tokens"]
_BATCH_ENDPOINT: Final = "/v1/chat/completions"
_BATCH_RUNNING = ("validating", "in_progress", "finalizing", "cancelling")


class OpenAIModel:
    """A :class:`Provider` for the Chat Completions wire format."""

    def __init__(self, model: str, *, name: str = "openai", api_key_env: str = "OPENAI_API_KEY",
                 base_url: str | None = None, timeout: float = 60.0,
                 structured: Structured = "json_schema", client: openai.OpenAI | None = None,
                 max_tokens_param: TokensParam | None = None) -> None:
        self.name, self.model, self.structured = name, model, structured
        # None: what the provider understands, max_completion_tokens on OpenAI itself.
        self.max_tokens_param: TokensParam = max_tokens_param or (
            "max_completion_tokens" if name == "openai" else "max_tokens")
        if client is None:
            key = os.environ.get(api_key_env)
            if not key and name == "openai":
                raise ConfigError(f"Set {api_key_env} to call OpenAI (the key is read from the "
                                  "environment only).")
            if name != "openai" and not base_url:
                raise ConfigError("An openai-compatible route needs model.base_url (for example "
                                  "http://localhost:8000/v1 for vLLM).")
            # Local servers often need no key; the SDK insists on one, so send a placeholder.
            client = openai.OpenAI(api_key=key or "not-needed", base_url=base_url, max_retries=0,
                                   timeout=timeout)
        self.client = client
        self._formats: dict[int, tuple[object, dict[str, Any]]] = {}

    def _arguments(self, request: ModelRequest) -> dict[str, Any]:
        args: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            self.max_tokens_param: request.max_tokens,
        }
        args.update({k: v for k, v in request.params.items() if k in _PASSED_PARAMS})
        if request.output_schema and self.structured == "json_schema":
            args["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "output", "schema": request.output_schema, "strict": False}}
        elif request.output_schema and self.structured == "json_object":
            args["response_format"] = {"type": "json_object"}
        return args

    def _prepared(self, request: ModelRequest, args: dict[str, Any]) -> dict[str, Any]:
        """``args`` with the response format moved to ``extra_body``, built once per schema.

        The SDK's ``maybe_transform`` walks every argument against its TypedDicts on every
        call, and the JSON schema in ``response_format`` is the largest part of that walk
        (about 1.5 ms a call here). ``extra_body`` is the SDK's supported way to send body
        parts as they are: the bytes on the wire are the same, the walk is skipped.
        """
        response_format = args.pop("response_format", None)
        if response_format is None:
            return args
        schema = request.output_schema
        held = self._formats.get(id(schema))
        # The schema object itself is held beside its entry, so its id cannot be reused.
        if held is None or held[0] is not schema:
            if len(self._formats) >= 64:  # a route has one or two schemas; bound it anyway
                self._formats.clear()
            held = self._formats[id(schema)] = (schema, {"response_format": response_format})
        return {**args, "extra_body": held[1]}

    def complete(self, request: ModelRequest) -> ModelReply:
        model = request.model or self.model
        try:
            completion = self.client.chat.completions.create(
                **self._prepared(request, self._arguments(request)))
        # A 200 whose body is not JSON reaches us as a plain ValueError from the SDK.
        except (openai.OpenAIError, ValueError) as exc:
            raise classify(exc, openai, provider=self.name, model=model) from exc
        reply = self._batch_reply(completion)
        if isinstance(reply, ProviderError):
            raise reply
        return reply

    # -- batch mode (Batch API over an uploaded JSONL file): half price, within 24 hours ---

    def submit_batch(self, items: list[tuple[str, ModelRequest]]) -> str:
        """Upload ``(custom_id, request)`` pairs as a batch input file and start the batch.

        Each line's body is exactly the arguments :meth:`complete` would send.
        """
        lines = "".join(json.dumps({"custom_id": custom_id, "method": "POST",
                                    "url": _BATCH_ENDPOINT, "body": self._arguments(request)},
                                   ensure_ascii=False) + "\n"
                        for custom_id, request in items)
        try:
            upload = self.client.files.create(file=("batch.jsonl", lines.encode()),
                                              purpose="batch")
            batch = self.client.batches.create(input_file_id=upload.id,
                                               endpoint=_BATCH_ENDPOINT, completion_window="24h")
        except (openai.OpenAIError, ValueError) as exc:
            raise classify(exc, openai, provider=self.name, model=self.model) from exc
        return batch.id

    def batch_status(self, batch_id: str) -> str:
        """Whether the batch has finished: "ended" (completed, expired, cancelled) or
        "in_progress"; a batch whose input file the provider refused raises RequestRejected."""
        batch = self._retrieve_batch(batch_id)
        if batch.status == "failed":
            reasons = "; ".join(f"{e.code}: {e.message}" for e in
                                (batch.errors.data or [] if batch.errors else []))
            raise RequestRejected(f"{self.name} refused batch {batch_id}: "
                                  f"{reasons or 'validation failed'}",
                                  provider=self.name, model=self.model)
        return "in_progress" if batch.status in _BATCH_RUNNING else "ended"

    def batch_results(self, batch_id: str) -> dict[str, ModelReply | ProviderError]:
        """Each item's reply, or its classified error, by custom id."""
        batch = self._retrieve_batch(batch_id)
        out: dict[str, ModelReply | ProviderError] = {}
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            try:
                text = self.client.files.content(file_id).text
            except (openai.OpenAIError, ValueError) as exc:
                raise classify(exc, openai, provider=self.name, model=self.model) from exc
            for line in text.splitlines():
                if line.strip():
                    custom_id, result = self._batch_line(json.loads(line))
                    out[custom_id] = result
        return out

    def _retrieve_batch(self, batch_id: str) -> Any:
        try:
            return self.client.batches.retrieve(batch_id)
        except (openai.OpenAIError, ValueError) as exc:
            raise classify(exc, openai, provider=self.name, model=self.model) from exc

    def _batch_line(self, line: dict[str, Any]) -> tuple[str, ModelReply | ProviderError]:
        custom_id = str(line.get("custom_id"))
        response = line.get("response") or {}
        status = response.get("status_code")
        if status == 200:
            try:
                completion = ChatCompletion.model_validate(response.get("body") or {})
            except ValueError as exc:  # pydantic's ValidationError is a ValueError
                return custom_id, classify(exc, openai, provider=self.name, model=self.model)
            return custom_id, self._batch_reply(completion)
        if status:
            return custom_id, item_error(openai, int(status), response.get("body"),
                                         provider=self.name, model=self.model)
        error = line.get("error") or {}
        return custom_id, ProviderUnavailable(
            f"{self.name} batch item failed: {error.get('code')}: {error.get('message')}",
            provider=self.name, model=self.model)

    def _batch_reply(self, completion: Any) -> ModelReply | ProviderError:
        """A ChatCompletion read as a reply, or the refusal it is (single calls and batches)."""
        model = completion.model or self.model
        choice = completion.choices[0] if completion.choices else None
        if choice is None:
            return classify(ValueError("the reply has no choices"), openai, provider=self.name,
                            model=model)
        if choice.finish_reason == "content_filter" or getattr(choice.message, "refusal", None):
            return ContentRefused(f"{self.name} refused to answer: "
                                  f"{getattr(choice.message, 'refusal', None) or 'content filter'}",
                                  provider=self.name, model=model)
        u = completion.usage
        cached = 0
        if u is not None and getattr(u, "prompt_tokens_details", None) is not None:
            cached = u.prompt_tokens_details.cached_tokens or 0
        usage = Usage(input_tokens=((u.prompt_tokens or 0) - cached) if u else 0,
                      output_tokens=(u.completion_tokens or 0) if u else 0, cache_read_tokens=cached)
        stop = {"stop": "end_turn", "length": "max_tokens"}.get(choice.finish_reason or "stop",
                                                                 choice.finish_reason or "end_turn")
        return ModelReply(text=choice.message.content or "", usage=usage, model=model,
                          stop_reason=stop, response_id=completion.id or "")
