"""Which vendor does each family of vendor-neutral actions: the integration's ``vendors:``.

Actions declared as ``handler: kind:crm.upsert_contact`` name no vendor; the family's
entry here does, with each vendor's connector options beside it, so switching is the
``use:`` line::

    vendors:
      crm:
        use: hubspot                 # <- switch to salesforce here
        hubspot: {token_env: HUBSPOT_ACCESS_TOKEN}
        salesforce: {base_url: "https://acme.my.salesforce.com", contact_key_field: Email_Key__c}
      email: {use: resend}           # the vendor's default options

Whether the family, vendor and options exist is the connectors' to say (``seamline check``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class VendorChoice(BaseModel):
    """One family's vendor (``use``) and, per vendor, its options (connector options and
    the adapter's settings, side by side so that switching keeps them)."""

    # In the file form the vendors' blocks sit beside ``use`` (the JSON schema says so).
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra={
        "additionalProperties": {"type": "object", "description": "A vendor's options."}})

    use: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$", description="The vendor in force.")
    options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        # {use: x, hubspot: {...}}: each key beside use is a vendor holding its options.
        if isinstance(value, dict) and "options" not in value:
            rest = {k: v for k, v in value.items() if k != "use"}
            bad = [k for k, v in rest.items() if not isinstance(v, dict)]
            if bad:
                raise ValueError(f"each key beside use names a vendor and holds its options "
                                 f"as a mapping, which {', '.join(map(repr, bad))} does not")
            return {"use": value.get("use"), "options": rest}
        return value

    def options_of(self, vendor: str) -> dict[str, Any]:
        return dict(self.options.get(vendor) or {})

    @property
    def secret_env_names(self) -> list[str]:
        """The environment variables the options name as holding secrets (``*_env``)."""
        return [v for block in self.options.values() for k, v in block.items()
                if k.endswith("_env") and isinstance(v, str) and v]


__all__ = ["VendorChoice"]
