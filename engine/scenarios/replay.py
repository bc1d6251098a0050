"""A stress run's scenarios on disk and back: the spec a run used (shipped or a file), the
``--dump`` CSV (one row per scenario: its id, the run's seed and spec, what it drew and its
results) and ``convert --scenario dump.csv:ID``, which rebuilds one scenario's inputs from the seed
and the id (the monthly shocks included) and converts it the ordinary way.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from engine.errors import ParameterError
from engine.report.questions import Block
from engine.scenarios.stress import StressModel, draws_of
from engine.scenarios.stress_run import StressRun
from engine.session import ModelSession
from engine.xlsx.save import write_atomic
from models.scenarios import StressSpec, load_spec, spec_names

GPU_SPEC, MINER_SPEC = "h100-stress-mc", "miner-convergence"
RESULTS = ("min_dscr", "first_breach", "breach_periods", "shortfall", "recovery_at_breach", "margin_call",
           "margin_call_and_breach_same_quarter")


@dataclass(frozen=True)
class SpecSource:
    """The spec of a run: a shipped name or a TOML file, with its text (its hash goes into the dump)."""

    ref: str  # the shipped name, or the file's path as given
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def spec(self) -> StressSpec:
        try:
            return load_spec(Path(self.ref).stem, text=self.text)
        except ValueError as exc:
            raise ParameterError(f"spec {self.ref}: {exc}") from exc


def spec_source(spec: str | None, *, has_btc_line: bool) -> SpecSource:
    """``--spec``: a shipped name or a TOML file; none: ``miner-convergence`` when the profile has a BTC
    price line (``[stress] btc_price``), else ``h100-stress-mc``."""
    if spec is None:
        spec = MINER_SPEC if has_btc_line else GPU_SPEC
    if spec in spec_names():
        text = (resources.files("models") / "specs" / f"{spec}.toml").read_text(encoding="utf-8")
        return SpecSource(spec, text)
    path = Path(spec)
    if path.suffix.lower() != ".toml":
        raise ParameterError(f"--spec {spec}: not a shipped spec ({', '.join(spec_names())}) nor a .toml file")
    try:
        return SpecSource(spec, path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"--spec {spec}: cannot read the file ({exc})", path=path) from exc


# -- the dump ---------------------------------------------------------------------------------------
def dump_text(run: StressRun, source: SpecSource, file_name: str) -> str:
    """The ``--dump`` CSV: a row per scenario, in id order."""
    lanes = run.lanes
    names = sorted(lanes.quantities)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["scenario", "seed", "spec", "spec_sha256", "file", *names, *RESULTS])
    ends = run.period_ends
    margin: np.ndarray | None = None
    joint: np.ndarray | None = None
    if lanes.margin_q is not None:
        margin = np.asarray(lanes.margin_q.any(axis=1))
        joint = np.asarray(np.logical_and(lanes.margin_q, lanes.breach_q).any(axis=1))
    for i, scenario in enumerate(lanes.ids.tolist()):
        first = int(lanes.first_breach[i])
        writer.writerow([
            scenario, run.seed, source.ref, source.sha256, file_name,
            *(repr(float(lanes.quantities[name][i])) for name in names),
            _number(lanes.min_dscr[i]), ends[first].isoformat() if first >= 0 else "",
            int(lanes.breach[i].sum()), repr(float(lanes.shortfall[i])), _number(lanes.recovery[i]),
            "" if margin is None else int(margin[i]), "" if joint is None else int(joint[i]),
        ])
    return out.getvalue()


def write_dump(path: Path, run: StressRun, source: SpecSource, file_name: str, *, force: bool) -> None:
    write_atomic(dump_text(run, source, file_name).encode("utf-8"), path, force=force)


def _number(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ""


# -- a scenario back ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """One row of a dump: what ``convert --scenario`` needs to rebuild it."""

    dump: Path
    scenario: int
    seed: int
    source: SpecSource
    file_name: str
    quantities: dict[str, float]
    min_dscr: float | None  # the stress lane's, for the output's note


def read_scenario(ref: str) -> Scenario:
    """``dump.csv:ID`` → that scenario's row, its spec read back and checked against the run's."""
    path_text, sep, id_text = ref.rpartition(":")
    if not sep or not id_text.strip().isdigit():
        raise ParameterError(f"--scenario {ref}: give the dump and a scenario id, e.g. scenarios.csv:17")
    path, wanted = Path(path_text), int(id_text)
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"--scenario: cannot read the dump ({exc})", path=path) from exc
    header = rows[0].keys() if rows else ()
    if not {"scenario", "seed", "spec", "spec_sha256", "file"} <= set(header):
        raise ParameterError("--scenario: not a gpucredit stress dump (no scenario, seed and spec columns)", path=path)
    row = next((r for r in rows if r["scenario"].strip() == str(wanted)), None)
    if row is None:
        raise ParameterError(f"--scenario: the dump has no scenario {wanted} (ids 0 to {len(rows) - 1})", path=path)
    source = _dump_spec(row["spec"], row["spec_sha256"], path)
    known = set(RESULTS) | {"scenario", "seed", "spec", "spec_sha256", "file"}
    try:
        quantities = {k: float(v) for k, v in row.items() if k not in known}
        seed = int(row["seed"])
    except ValueError as exc:
        raise ParameterError(f"--scenario: scenario {wanted}'s row is damaged ({exc})", path=path) from exc
    min_dscr = float(row["min_dscr"]) if row.get("min_dscr") else None
    return Scenario(path, wanted, seed, source, row["file"], quantities, min_dscr)


def _dump_spec(ref: str, sha: str, dump: Path) -> SpecSource:
    """The run's spec: shipped, or the file (as given, else beside the dump), unchanged since the run."""
    candidates: list[SpecSource] = []
    if ref in spec_names():
        candidates.append(SpecSource(ref, (resources.files("models") / "specs" / f"{ref}.toml")
                                     .read_text(encoding="utf-8")))
    for path in (Path(ref), dump.parent / Path(ref).name):
        if path.suffix.lower() == ".toml" and path.is_file():
            candidates.append(SpecSource(ref, path.read_text(encoding="utf-8")))
    for source in candidates:
        if source.sha256 == sha:
            return source
    if candidates:
        raise ParameterError(f"--scenario: the spec {ref} has changed since the run (its SHA-256 differs); "
                             "the scenario cannot be rebuilt from it", path=dump)
    raise ParameterError(f"--scenario: the run's spec {ref} is neither shipped nor found (as given or beside the "
                         "dump)", path=dump)


def apply_scenario(session: ModelSession, scenario: Scenario) -> list[Block]:
    """Put the scenario's inputs into the session (curve draws, monthly shocks, template cells, the BTC
    path); returns the note for Credit_Summary."""
    if scenario.file_name and scenario.file_name != session.source.path.name:
        raise ParameterError(f"--scenario: the dump is of {scenario.file_name}, not {session.source.path.name}",
                             path=scenario.dump)
    model = StressModel(session, scenario.source.spec(), compile_lanes=False)
    draws = draws_of(model, scenario.seed, [scenario.scenario])
    for name, value in scenario.quantities.items():
        drawn = draws.quantities.get(name)
        if drawn is None or not np.isclose(float(drawn[0]), value, rtol=1e-12, atol=0.0):
            raise ParameterError(f"--scenario: {name} drawn again is {None if drawn is None else float(drawn[0])!r}, "
                                 f"the dump says {value!r}: this gpucredit draws differently from the run's",
                                 path=scenario.dump)
    inputs = model.replay_inputs(draws, 0)
    session.set_curve(**inputs["overrides"])
    session.set_shocks(inputs["shocks"])
    if inputs["cells"]:
        session.set_cells(inputs["cells"])
    session.evaluate()
    rows: list[tuple[object, ...]] = [("scenario", float(scenario.scenario)), ("seed", float(scenario.seed)),
                                      ("spec", scenario.source.ref)]
    rows += [(name, value) for name, value in sorted(scenario.quantities.items())]
    if scenario.min_dscr is not None:
        rows.append(("min DSCR in the stress run", scenario.min_dscr))
    return [Block("Stress scenario replayed", ("input", "value"), tuple(rows),
                  note=f"Rebuilt from {scenario.dump.name}: the curve's draws, the monthly shocks on GPU_Curve "
                       "column Z and the template inputs of that scenario")]
