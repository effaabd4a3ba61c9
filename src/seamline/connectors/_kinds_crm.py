"""The ``crm`` family: ``crm.upsert_contact`` and ``crm.add_note`` on HubSpot, Salesforce,
Intercom and Pipedrive.

An upsert is named by the e-mail address, because that is what every CRM can find a
person by: HubSpot upserts on its unique ``email`` property, Salesforce on an External ID
field holding the address (``contact_key_field``), Intercom on ``external_id`` (the
address). Pipedrive has no upsert and its connector no person search, so it does notes
only. A note is attached to a record by the vendor's own id of it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from seamline.connectors._errors import BadParams
from seamline.connectors._kinds import (
    Adapter,
    Family,
    Kind,
    KindParams,
    VendorSettings,
    drop_none,
    text_id,
    whole_number,
)

Scalar = str | int | float | bool | None
TITLE_MAX = 80  # Salesforce Note.Title


class UpsertContact(KindParams):
    """Create the contact with this e-mail address, or update the one that has it."""

    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$",
                       description="Names the contact: the vendor keeps one per address.")
    first_name: str | None = Field(None, description="Given name.")
    last_name: str | None = Field(None, description="Family name (Salesforce requires one "
                                  "to create a contact).")
    phone: str | None = Field(None, description="Phone number, E.164 preferred.")
    company: str | None = Field(None, description="The company's name, as text.")
    properties: dict[str, Scalar] = Field(
        default_factory=dict, description="Other fields, named as the vendor names them "
        "(a HubSpot property, a Salesforce field API name, an Intercom custom attribute).")


class AddNote(KindParams):
    """Attach a note to a contact, company or deal."""

    record_id: str = Field(min_length=1, description="The vendor's id of the record.")
    body: str = Field(min_length=1, description="The note's text.")
    record_type: Literal["contact", "company", "deal"] = Field(
        "contact", description="What the record is.")


class SalesforceCrm(VendorSettings):
    contact_sobject: str = Field("Contact", description="The object a contact is (Contact "
                                 "or Lead).")
    contact_key_field: str | None = Field(
        None, description="An External ID field on that object holding the e-mail address; "
        "upserts match on it (e.g. Email_Key__c).")
    company_field: str | None = Field(
        None, description="A text field for company (a Contact links a company through "
        "AccountId, an id; a Lead has Company).")


class IntercomCrm(VendorSettings):
    role: Literal["user", "lead"] = Field("user", description="What a new contact is.")
    company_attribute: str | None = Field(
        None, description="A custom attribute for the company's name (Intercom keeps "
        "companies as their own objects).")


# -- crm.upsert_contact --------------------------------------------------------------


def _hubspot_upsert(p: UpsertContact, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    properties = drop_none({"firstname": p.first_name, "lastname": p.last_name,
                            "phone": p.phone, "company": p.company, **p.properties})
    return "upsert_record", {"object_type": "contacts", "id_property": "email", "id": p.email,
                             "properties": properties}


def _salesforce_upsert(p: UpsertContact, s: SalesforceCrm) -> tuple[str, dict[str, Any]]:
    fields = drop_none({"FirstName": p.first_name, "LastName": p.last_name, "Phone": p.phone,
                        "Email": p.email, **p.properties})
    if p.company is not None:
        if not s.company_field:
            raise BadParams("salesforce keeps crm.upsert_contact's company in the field named "
                            "by the setting company_field, which is not set.",
                            connector="salesforce")
        fields[s.company_field] = p.company
    return "upsert_record", {"sobject": s.contact_sobject,
                             "external_id_field": s.contact_key_field,
                             "external_id": p.email, "fields": fields}


def _intercom_upsert(p: UpsertContact, s: IntercomCrm) -> tuple[str, dict[str, Any]]:
    custom = dict(p.properties)
    if p.company is not None:
        if not s.company_attribute:
            raise BadParams("intercom keeps crm.upsert_contact's company in the custom "
                            "attribute named by the setting company_attribute, which is not "
                            "set.", connector="intercom")
        custom[s.company_attribute] = p.company
    name = " ".join(n for n in (p.first_name, p.last_name) if n) or None
    return "upsert_contact", drop_none({
        "external_id": p.email, "email": p.email, "role": s.role, "name": name,
        "phone": p.phone, "custom_attributes": custom or None})


def _upserted(reply: dict[str, Any]) -> dict[str, Any]:
    return {"id": text_id(reply.get("id")), "created": bool(reply.get("created"))}


# -- crm.add_note ----------------------------------------------------------------------

_HUBSPOT_TYPES = {"contact": "contacts", "company": "companies", "deal": "deals"}
_PIPEDRIVE_TARGETS = {"contact": "person_id", "company": "org_id", "deal": "deal_id"}


def _hubspot_note(p: AddNote, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    return "add_note", {"id": p.record_id, "body": p.body,
                        "object_type": _HUBSPOT_TYPES[p.record_type]}


def _salesforce_note(p: AddNote, s: SalesforceCrm) -> tuple[str, dict[str, Any]]:
    # A Note needs a Title (80 characters): the body's first line stands in for it.
    title = (p.body.strip().splitlines() or ["Note"])[0][:TITLE_MAX]
    return "create_record", {"sobject": "Note",
                             "fields": {"ParentId": p.record_id, "Title": title, "Body": p.body}}


def _pipedrive_note(p: AddNote, s: VendorSettings) -> tuple[str, dict[str, Any]]:
    target = _PIPEDRIVE_TARGETS[p.record_type]
    return "add_note", {"content": p.body, target: whole_number(
        p.record_id, vendor="pipedrive", what=f"the {p.record_type} of crm.add_note")}


def _noted(reply: dict[str, Any]) -> dict[str, Any]:
    return {"id": text_id(reply.get("id")), "created": True}


UPSERT_CONTACT = Kind("crm.upsert_contact", "Create or update a contact named by e-mail.",
                      UpsertContact)
ADD_NOTE = Kind("crm.add_note", "Attach a note to a contact, company or deal.", AddNote)

CRM = Family("crm", (UPSERT_CONTACT, ADD_NOTE), (
    Adapter("crm.upsert_contact", "hubspot", ("upsert_record",), _hubspot_upsert, _upserted,
            note="Batch upsert on the unique email property; first_name → firstname."),
    Adapter("crm.upsert_contact", "salesforce", ("upsert_record",), _salesforce_upsert,
            _upserted, requires=("contact_key_field",),
            note="Upsert on the External ID field contact_key_field holding the address."),
    Adapter("crm.upsert_contact", "intercom", ("upsert_contact",), _intercom_upsert, _upserted,
            note="external_id is the address; first and last name become name."),
    Adapter("crm.add_note", "hubspot", ("add_note",), _hubspot_note, _noted,
            note="A note object associated with the record."),
    Adapter("crm.add_note", "salesforce", ("create_record",), _salesforce_note, _noted,
            note="A Note whose ParentId is the record; its Title is the body's first line."),
    Adapter("crm.add_note", "pipedrive", ("add_note",), _pipedrive_note, _noted,
            note="record_id is the person, organization or deal id (a whole number)."),
), settings={"salesforce": SalesforceCrm, "intercom": IntercomCrm})

__all__ = ["CRM", "AddNote", "UpsertContact"]
