"""The engine's public surface (engine/__init__.py) is pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import subprocess
import sys

import engine

SURFACE = {
    "convert", "inspect", "ConversionResult", "CurveChoice", "CollateralChoice", "Detection", "TemplateProfile",
    "read_profile", "Limits",
    # the error tree (engine/errors.py)
    "GpuCreditError", "InputFileError", "FileMissingError", "NotAWorkbookError", "MalformedWorkbookError",
    "UnsafeWorkbookError", "WorkbookTooLargeError", "ProfileError", "DetectionError", "TemplateError",
    "RentRowError", "ExternalLinkError", "EvaluationError", "UnsupportedFunctionError", "UnsupportedFeatureError",
    "ReconciliationError", "ConsistencyError", "ParameterError", "OutputError",
    "OutputExistsError",
}


def test_the_public_api_is_exactly_the_pinned_surface():
    assert set(engine.__all__) == SURFACE
    for name in SURFACE:
        assert getattr(engine, name) is not None, name


def test_every_error_class_is_exported_and_derives_from_the_base():
    import inspect as pyinspect

    from engine import errors

    classes = {name for name, obj in vars(errors).items() if pyinspect.isclass(obj) and issubclass(obj, Exception)}
    assert classes <= SURFACE
    assert all(issubclass(getattr(engine, name), engine.GpuCreditError) for name in classes)


def test_importing_the_engine_loads_neither_the_formula_engine_nor_numpy():
    code = "import sys, engine; print(sorted(m for m in ('formualizer', 'numpy', 'openpyxl') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
