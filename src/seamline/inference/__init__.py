"""Layer 3, inference: one interface for every model, with budgets checked before the call.

``scripted`` drives a model by a function (tests); ``local`` is an on-device model.
"""

from seamline.inference._batch import BatchProvider, run_batch
from seamline.inference._budget import BudgetLedger, BudgetRefusal, CostReservation, price
from seamline.inference._pricing import Price, PriceTable, price_usage
from seamline.inference._route import build_provider, text_fields
from seamline.inference._types import Message, ModelReply, ModelRequest, Provider, Usage
from seamline.inference.scripted import ScriptedModel

__all__ = [
    "BatchProvider",
    "BudgetLedger",
    "BudgetRefusal",
    "CostReservation",
    "Message",
    "ModelReply",
    "ModelRequest",
    "Price",
    "PriceTable",
    "Provider",
    "ScriptedModel",
    "Usage",
    "build_provider",
    "price",
    "price_usage",
    "run_batch",
    "text_fields",
]
