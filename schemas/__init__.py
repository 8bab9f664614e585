"""Event contracts of the report router, version 1 (see contracts.md / README "Events").

Importable without the worker: this package depends on pydantic only, so upstream systems and
platform connectors can ``pip install ./schemas`` (distribution ``report-router-schemas``) and use
the same models the router uses. One module per event family; each model is frozen and carries its
major version in its class name (a breaking change is a new class, never an edit).
"""

from schemas.base import SCHEMA_NAMES, UnknownSchemaError, parse_schema_name
from schemas.deadletter import DeadLetterError, ReportDeadLetterV1
from schemas.metrics import GroupFigures, Percentiles, PlatformCounts, RouterMetricsV1, WorkerCounts
from schemas.receipt import ReportReceiptV1
from schemas.response import PlatformResponseV1
from schemas.routed import GroupTagV1, MirrorOfV1, OriginTagV1, ReportRoutedV1, TargetV1
from schemas.sla import SlaBreachV1
from schemas.submitted import Reporter, ReportSubmittedV1, Signals

#: Every event model, by its ``schema`` value.
MODELS = {
    ReportSubmittedV1.SCHEMA: ReportSubmittedV1,
    ReportReceiptV1.SCHEMA: ReportReceiptV1,
    ReportDeadLetterV1.SCHEMA: ReportDeadLetterV1,
    ReportRoutedV1.SCHEMA: ReportRoutedV1,
    PlatformResponseV1.SCHEMA: PlatformResponseV1,
    SlaBreachV1.SCHEMA: SlaBreachV1,
    RouterMetricsV1.SCHEMA: RouterMetricsV1,
}

__all__ = [
    "MODELS",
    "SCHEMA_NAMES",
    "DeadLetterError",
    "GroupFigures",
    "GroupTagV1",
    "MirrorOfV1",
    "OriginTagV1",
    "Percentiles",
    "PlatformCounts",
    "PlatformResponseV1",
    "ReportDeadLetterV1",
    "ReportReceiptV1",
    "ReportRoutedV1",
    "ReportSubmittedV1",
    "Reporter",
    "RouterMetricsV1",
    "Signals",
    "SlaBreachV1",
    "TargetV1",
    "UnknownSchemaError",
    "WorkerCounts",
    "parse_schema_name",
]
