"""An event's pending actions run and its state settled, without building a pipeline.

After a person approves (``seamline approvals approve``, the console) only layer 5 is
left to do: the model, the retriever, the gateway and the prompt renderer are not needed,
and building them (a kept on-device fit, numpy, the vendor SDKs) costs a CLI command more
than the action itself. The same ``Act`` stage the pipeline uses does the work.
"""

from __future__ import annotations

from seamline.actions import ActionRunner
from seamline.ingest import Vault
from seamline.integration import Integration
from seamline.prompt import PromptTemplate
from seamline.runtime._act import Act
from seamline.runtime._records import EventLog
from seamline.store import Store


def settle_actions(integration: Integration, store: Store, event_id: str, path: str, *,
                   defer: bool = False) -> tuple[str, str, str]:
    """Run ``event_id``'s pending actions and settle its state: (state, stage, reason)."""
    vault = Vault(store)
    p = integration.prompt
    log = EventLog(integration, store, vault, PromptTemplate(p.user, p.system, p.params))
    outcome = Act(ActionRunner(store, integration, vault), log).finish(event_id, path,
                                                                       defer=defer)
    return outcome.state, outcome.stage, outcome.reason
