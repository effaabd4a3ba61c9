"""Layer 3, inference: one interface for every model, with budgets checked before the call.

``scripted`` drives a model by a function (tests); ``local`` is an on-device model.
"""

from seamline.citations import Citation, CitationRequest, SourceDocument
from seamline.inference._batch import BatchProvider, run_batch
from seamline.inference._budget import (
    BREAKDOWNS,
    AlertClaim,
    BudgetLedger,
    BudgetRefusal,
    CapUsage,
    CostReservation,
    OverSoftCap,
    SpendReport,
    over_soft_route,
    price,
    spend_report,
    take_announcements,
)
from seamline.inference._data_policy import (
    IN_PROCESS,
    data_policy,
    policy_of_model,
    receiving_routes,
)
from seamline.inference._gateway import build_gateway
from seamline.inference._local_report import FieldFit, local_fit, local_kind, reads_prompt
from seamline.inference._pricing import (
    FREE,
    Price,
    PriceTable,
    cost,
    default_table,
    price_usage,
    route_price,
)
from seamline.inference._route import (
    EXTRACTIVE,
    MODELS,
    build_provider,
    models_dir_for,
    redaction_fingerprint,
    text_fields,
)
from seamline.inference._sdk_errors import classify
from seamline.inference._types import Message, ModelReply, ModelRequest, Provider, Usage
from seamline.inference.scripted import ScriptedModel

__all__ = [
    "BREAKDOWNS",
    "EXTRACTIVE",
    "FREE",
    "IN_PROCESS",
    "MODELS",
    "AlertClaim",
    "BatchProvider",
    "BudgetLedger",
    "BudgetRefusal",
    "CapUsage",
    "Citation",
    "CitationRequest",
    "CostReservation",
    "FieldFit",
    "Message",
    "ModelReply",
    "ModelRequest",
    "OverSoftCap",
    "Price",
    "PriceTable",
    "Provider",
    "ScriptedModel",
    "SourceDocument",
    "SpendReport",
    "Usage",
    "build_gateway",
    "build_provider",
    "classify",
    "cost",
    "data_policy",
    "default_table",
    "local_fit",
    "local_kind",
    "models_dir_for",
    "over_soft_route",
    "policy_of_model",
    "price",
    "price_usage",
    "reads_prompt",
    "receiving_routes",
    "redaction_fingerprint",
    "route_price",
    "run_batch",
    "spend_report",
    "take_announcements",
    "text_fields",
]
