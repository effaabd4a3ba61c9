"""Layer 3, inference: one interface for every model, with budgets checked before the call.

``scripted`` drives a model by a function (tests); ``local`` is an on-device model.
"""

from seamline.inference._batch import BatchProvider, run_batch
from seamline.inference._budget import (
    BREAKDOWNS,
    BudgetLedger,
    BudgetRefusal,
    CostReservation,
    SpendReport,
    price,
    spend_report,
)
from seamline.inference._gateway import build_gateway
from seamline.inference._local_report import FieldFit, local_fit, local_kind, reads_prompt
from seamline.inference._pricing import FREE, Price, PriceTable, cost, default_table, price_usage
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
    "MODELS",
    "BatchProvider",
    "BudgetLedger",
    "BudgetRefusal",
    "CostReservation",
    "FieldFit",
    "Message",
    "ModelReply",
    "ModelRequest",
    "Price",
    "PriceTable",
    "Provider",
    "ScriptedModel",
    "SpendReport",
    "Usage",
    "build_gateway",
    "build_provider",
    "classify",
    "cost",
    "default_table",
    "local_fit",
    "local_kind",
    "models_dir_for",
    "price",
    "price_usage",
    "reads_prompt",
    "redaction_fingerprint",
    "run_batch",
    "spend_report",
    "text_fields",
]
