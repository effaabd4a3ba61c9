"""Vendor-neutral action kinds: what an action does (``crm.upsert_contact``), not whose API.

A *kind* is one typed parameter schema and one reply shape. An *adapter* per (kind,
vendor) translates the neutral params into one operation of that vendor's connector and
the connector's reply into the neutral reply, so an integration that declares
``handler: "kind:crm.upsert_contact"`` switches CRM by changing which vendor its
``vendors:`` block uses: one line. The adapter runs *one* connector operation with the
action's own idempotency key, so the connector's dedupe, send ledger and crash recovery
are exactly what they are for a ``connector:`` action.

This module holds the shapes; the kinds themselves live in ``_kinds_<family>.py`` and are
gathered by ``_kind_actions``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from seamline.connectors._errors import BadParams


class KindParams(BaseModel):
    """Base of a kind's parameter schema: documented fields, typos are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class VendorSettings(BaseModel):
    """Base of what one vendor's adapters of a family read besides the connector's options
    (where the vendor keeps a field the neutral schema names: ``contact_key_field``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class KindReply(BaseModel):
    """The one reply every vendor's adapter of a kind gives (kinds add their own fields).

    ``vendor_reply`` is the connector's own reply, kept whole for the audit trail.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str
    vendor: str
    id: str | None = Field(description="The vendor's id of what was made or changed.")
    created: bool | None = Field(None, description="True: made now; False: it was there "
                                 "already (an upsert's update, an earlier attempt's event).")
    recovered: bool = Field(False, description="Confirmed after an interrupted attempt "
                            "instead of sent again.")
    vendor_reply: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    """One vendor-neutral action: its name, parameter schema and reply schema."""

    name: str  # "family.verb", e.g. "crm.upsert_contact"
    summary: str
    params: type[KindParams]
    reply: type[KindReply] = KindReply

    @property
    def family(self) -> str:
        return self.name.partition(".")[0]


Translate = Callable[[Any, Any], tuple[str, dict[str, Any]]]
ReplyFields = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Adapter:
    """How one vendor does one kind.

    ``translate(params, settings)`` gives ``(operation, vendor params)``: the connector
    operation to run (one of ``operations``) and what it takes. ``reply(vendor reply)``
    gives the neutral reply's fields (``id``, ``created``, the kind's own). ``unsupported``
    names neutral fields this vendor cannot carry, with why: a value for one is refused
    (never dropped), and ``seamline check`` says so before going live. ``requires`` names
    the settings this kind needs from the vendor's block.
    """

    kind: str
    vendor: str
    operations: tuple[str, ...]
    translate: Translate
    reply: ReplyFields
    unsupported: Mapping[str, str] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    note: str = ""  # one sentence for the docs: what is special about this vendor

    def refuse_unsupported(self, params: KindParams) -> None:
        """A BadParams sentence for a value this vendor cannot carry."""
        for name, why in self.unsupported.items():
            if getattr(params, name, None) not in (None, "", [], {}):
                raise BadParams(f"{self.vendor} cannot carry {self.kind}'s {name}: {why}; "
                                "leave it out or use another vendor.", connector=self.vendor)


@dataclass(frozen=True)
class Family:
    """The kinds of one family (``crm``), the adapters that do them, and per vendor the
    settings model its block may hold beside the connector options."""

    name: str
    kinds: tuple[Kind, ...]
    adapters: tuple[Adapter, ...]
    settings: Mapping[str, type[VendorSettings]] = field(default_factory=dict)


def drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The mapping without its None values (vendors read a null as "clear this field")."""
    return {k: v for k, v in mapping.items() if v is not None}


def text_id(value: Any) -> str | None:
    """A vendor id as text (Pipedrive's are integers, Salesforce's strings)."""
    return None if value is None else str(value)


def whole_number(value: str, *, vendor: str, what: str) -> int:
    """A neutral text id as the integer this vendor's API needs, or a BadParams sentence."""
    if not value.strip().isdigit():
        raise BadParams(f"{vendor} names {what} by a whole number, not {value!r}.",
                        connector=vendor)
    return int(value)


__all__ = ["Adapter", "Family", "Kind", "KindParams", "KindReply", "VendorSettings",
           "drop_none", "text_id", "whole_number"]
