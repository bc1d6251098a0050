"""gpucredit's engine: everything that knows about Excel workbooks.

The public API — what a script or a notebook imports::

    from engine import convert, inspect, CurveChoice
    result = convert("deal.xlsx", "deal.gpu.xlsx", curve=CurveChoice(preset="h100-stress"))

Names are loaded on first use, so ``import engine`` (and the CLI's ``--help``) stays cheap. The
layers under it, and where each kind of change goes, are drawn in ``docs/architecture.md``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from engine.errors import (
    ConsistencyError,
    DetectionError,
    EvaluationError,
    ExternalLinkError,
    FileMissingError,
    GpuCreditError,
    InputFileError,
    MalformedWorkbookError,
    NotAWorkbookError,
    OutputError,
    OutputExistsError,
    ParameterError,
    ProfileError,
    ReconciliationError,
    RentRowError,
    TemplateError,
    UnsafeWorkbookError,
    UnsupportedFeatureError,
    UnsupportedFunctionError,
    WorkbookTooLargeError,
)

if TYPE_CHECKING:
    from engine.convert import CollateralChoice, ConversionResult, CurveChoice, convert, inspect
    from engine.template.detect.report import Detection
    from engine.template.profile import TemplateProfile, read_profile
    from engine.xlsx.load import Limits

_LAZY = {
    "convert": "engine.convert", "inspect": "engine.convert", "ConversionResult": "engine.convert",
    "CurveChoice": "engine.convert", "CollateralChoice": "engine.convert",
    "Detection": "engine.template.detect.report", "TemplateProfile": "engine.template.profile",
    "read_profile": "engine.template.profile", "Limits": "engine.xlsx.load",
}

__all__ = [
    "CollateralChoice", "ConsistencyError", "ConversionResult", "CurveChoice", "Detection", "DetectionError",
    "EvaluationError", "ExternalLinkError", "FileMissingError", "GpuCreditError", "InputFileError", "Limits",
    "MalformedWorkbookError", "NotAWorkbookError", "OutputError", "OutputExistsError", "ParameterError", "ProfileError",
    "ReconciliationError", "RentRowError", "TemplateError", "TemplateProfile", "UnsafeWorkbookError",
    "UnsupportedFeatureError", "UnsupportedFunctionError", "WorkbookTooLargeError", "convert", "inspect",
    "read_profile",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
