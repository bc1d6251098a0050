"""``gpucredit stress FILE``: open the model once, run the scenarios, write the output workbook with
its Stress sheet (and the ``--dump`` CSV). Nothing is written when any step fails."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import GpuCreditError, OutputError, ParameterError
from engine.patch.choice import CurveChoice
from engine.report.result import ConversionResult
from engine.report.stress_sheet import StressPage, add_stress_sheet
from engine.scenarios.replay import SpecSource, spec_source, write_dump
from engine.scenarios.stress import StressModel, draws_of
from engine.scenarios.stress_run import StressRun, run_stress, stress_page
from engine.session import ModelSession
from engine.template.profile import TemplateProfile, given_profile
from engine.xlsx.package import Package

DEFAULT_SCENARIOS = 10_000
DEFAULT_SEED = 7


@dataclass(frozen=True)
class StressOutcome:
    """A finished run: its figures, the written workbook and the spec it used."""

    run: StressRun
    result: ConversionResult
    source: SpecSource
    dump: Path | None

    def to_json(self) -> dict[str, Any]:
        return {"input": str(self.result.input), "output": str(self.result.output), "spec": self.source.ref,
                "spec_sha256": self.source.sha256, "dump": None if self.dump is None else str(self.dump),
                **self.run.figures()}


def default_stress_output(path: Path) -> Path:
    """``deal.xlsx`` → ``deal.stress.xlsx`` beside it (``.xlsm`` stays ``.xlsm``)."""
    suffix = path.suffix.lower() if path.suffix.lower() in (".xlsx", ".xlsm") else ".xlsx"
    return path.with_name(f"{path.stem}.stress{suffix}")


def stress(path: str | Path, out: str | Path | None = None, *, spec: str | None = None,
           scenarios: int = DEFAULT_SCENARIOS, seed: int = DEFAULT_SEED, jobs: int = 1, scheduler: Any = None,
           check: int = 20, verify_all: bool = False, dump: str | Path | None = None,
           curve: CurveChoice | Callable[[str], CurveChoice] | None = None, profile: TemplateProfile | str | Path | None = None,
           force: bool = False, command: str = "", notice: Callable[[str], None] | None = None,
           progress: Callable[[int], None] | None = None) -> StressOutcome:
    """Run ``scenarios`` stress scenarios through the workbook at ``path`` and write ``out`` (default
    :func:`default_stress_output`) with a Stress sheet; ``dump``: also the per-scenario CSV.

    ``spec``: a shipped spec or a TOML file (default: ``miner-convergence`` when the profile has a BTC
    price line, else ``h100-stress-mc``); ``curve``: the curve the spec varies (default: the spec's
    preset; a function is given the spec's preset and returns the curve). ``notice`` hears what the run will do before it starts (the per-scenario fallback and
    its expected time); ``progress`` hears each finished chunk's size.
    """
    path = Path(path)
    out_path = Path(out) if out is not None else default_stress_output(path)
    dump_path = Path(dump) if dump is not None else None
    for target, what in ((out_path, "output"), (dump_path, "dump")):
        if target is None:
            continue
        if target.resolve() == path.resolve():
            raise ParameterError(f"the {what} would overwrite the input; choose another path", path=path)
        if target.exists() and not force:
            raise OutputError(f"{what} file exists; pass --force to overwrite it", path=target)
    try:
        given = given_profile(path, profile)
        source = spec_source(spec, has_btc_line=given is not None and bool(given.btc_price))
        stress_spec = source.spec()
        if curve is None:
            curve = CurveChoice(preset=stress_spec.preset)
        elif callable(curve):
            curve = curve(stress_spec.preset)
        session = ModelSession.open(path, curve=curve, profile=profile)
        model = StressModel(session, stress_spec)
        if model.program is None and notice is not None:
            notice(f"the vectorised path cannot run this workbook ({model.fallback_reason}); evaluating scenario "
                   f"by scenario, about {_estimate(model, seed) * scenarios / max(jobs, 1):.0f} s")
        # what a worker needs to open the same model (the file's hash: a worker keeps models by it)
        opener = {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "curve": curve,
                  "profile": None if profile is None else
                  (profile if isinstance(profile, TemplateProfile) else str(profile)),
                  "spec_name": source.ref, "spec_text": source.text}
        run = run_stress(model, scenarios=scenarios, seed=seed, check=check, verify_all=verify_all, jobs=jobs,
                         scheduler=scheduler, opener=opener, progress=progress)
        page = stress_page(run, session, command or f"gpucredit stress {path.name} --scenarios {scenarios} "
                           f"--seed {seed} --spec {source.ref}")
        result = session.write(out_path, force=force,
                               finish=lambda package, styles: _finish(package, styles, page))
        if dump_path is not None:
            write_dump(dump_path, run, source, path.name, force=force)
    except GpuCreditError as exc:
        raise exc.with_path(path) from exc.__cause__
    return StressOutcome(run, result, source, dump_path)


def _finish(package: Package, styles: dict[str, int], page: StressPage) -> None:
    add_stress_sheet(package, page, styles)


def _estimate(model: StressModel, seed: int) -> float:
    """Seconds per scenario on the per-scenario path, from three scenarios."""
    draws = draws_of(model, seed, [0, 1, 2])
    inputs = model._inputs(draws, model.rents(draws))
    started = time.perf_counter()
    model._per_scenario(inputs, 3)
    return (time.perf_counter() - started) / 3
