"""Switching CRM is one line: the same YAML integration, ``use: hubspot`` then
``use: salesforce``, run through the pipeline against the HubSpot and Salesforce fakes."""

from __future__ import annotations

import difflib
import json

from fakes_crm import *  # registers crm_credentials
from fakes_crm import FakeHubSpot, FakeSalesforce
from sqlalchemy import select
from vendor_fixtures import *  # registers the fixtures (see its docstring)

from seamline.inference import ScriptedModel
from seamline.integration import load_integration
from seamline.preflight import check
from seamline.rollout import action_risk
from seamline.runtime import Pipeline
from seamline.store.tables import outbox

SCHEMAS = """
from pydantic import BaseModel
class Lead(BaseModel):
    lead_id: str
    email: str
    first_name: str
    last_name: str
    company: str
    message: str
class Verdict(BaseModel):
    label: str
    confidence: float
"""

INTEGRATION = """
name: leads
checklist: {workflow: Put inbound leads in the CRM., owner: sales-ops,
            baseline_metric: leads typed in by hand, monthly_cost_ceiling_usd: 50}
input_schema: schemas.py:Lead
output_schema: schemas.py:Verdict
pii: {lead_id: allow, email: redact, first_name: allow, last_name: allow, company: allow,
      message: redact}
prompt: {user: "{{ message }}"}
model: {provider: scripted, model: scripted-1}
vendors:
  crm:
    use: hubspot
    hubspot: {base_url: "URL"}
    salesforce: {base_url: "URL", contact_key_field: Ext__c, company_field: Company__c}
actions:
  - name: sync_contact
    handler: kind:crm.upsert_contact
    when: output.label == 'lead'
    reveal_pii: true
    params: {email: input.email, first_name: input.first_name, last_name: input.last_name,
             company: input.company}
rollout: {baseline: baseline.py:keyword}
idempotency_key: lead_id
"""


def lead(n: int) -> dict[str, str]:
    return {"lead_id": f"L-{n}", "email": f"lead{n}@example.com", "first_name": "Ann",
            "last_name": f"Lee{n}", "company": "Acme", "message": "Please call me back."}


def test_one_line_switches_an_action_from_hubspot_to_salesforce(tmp_path, vendor, store):
    hubspot, salesforce = FakeHubSpot(vendor), FakeSalesforce(vendor)
    (tmp_path / "schemas.py").write_text(SCHEMAS)
    (tmp_path / "baseline.py").write_text(
        "def keyword(data):\n    return {'label': 'other', 'confidence': 0.5}\n")
    before = INTEGRATION.replace("URL", vendor.url)
    after = before.replace("use: hubspot", "use: salesforce")
    changed = [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                     lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-    use: hubspot", "+    use: salesforce"]
    model = ScriptedModel(lambda req: json.dumps({"label": "lead", "confidence": 0.9}))

    results = []
    for n, text in enumerate((before, after), start=1):
        path = tmp_path / "integration.yaml"
        path.write_text(text)
        integration = load_integration(path)
        errors = [p for p in check(integration) if p.level == "error"
                  and p.part in ("actions", "vendors")]
        assert errors == []
        assert action_risk(integration.actions[0]) == "low"
        result = Pipeline(integration, store, provider=model).process(lead(n))
        assert result.state == "succeeded", result
        with store.read() as conn:
            row = conn.execute(select(outbox).where(outbox.c.event_id == result.event_id)).one()
        assert row.status == "done", row.last_error
        results.append(json.loads(row.result))

    [in_hubspot] = hubspot.of("contacts")  # the first event, before the switch
    assert in_hubspot["properties"]["email"] == "lead1@example.com"  # revealed, not a placeholder
    assert in_hubspot["properties"]["lastname"] == "Lee1"
    [in_salesforce] = salesforce.of("Contact")  # the second, after it
    assert (in_salesforce["Ext__c"], in_salesforce["LastName"], in_salesforce["Company__c"]) == (
        "lead2@example.com", "Lee2", "Acme")
    first, second = results
    assert set(first) == set(second)  # one neutral reply shape
    assert (first["vendor"], first["id"]) == ("hubspot", in_hubspot["id"])
    assert (second["vendor"], second["id"]) == ("salesforce", in_salesforce["Id"])
    assert first["created"] is second["created"] is True
