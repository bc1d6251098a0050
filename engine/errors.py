"""The errors gpucredit raises, each a message a credit analyst can act on.

Only the CLI (and the xlwings shell) print them; library code raises.

::

    GpuCreditError                      base; carries ``path``, ``sheet``, ``cell``
    ├── InputFileError (ValueError)     the file cannot be read as a workbook
    │   ├── FileMissingError            no such file
    │   ├── NotAWorkbookError           not an .xlsx/.xlsm zip (an .xls, a text file, truncated)
    │   ├── MalformedWorkbookError      an attribute Excel never writes (a cell address "R1C1", a row "inf")
    │   ├── UnsafeWorkbookError         a DTD or entity declaration (XML bomb, XXE probe)
    │   └── WorkbookTooLargeError       over a size / part / ratio limit (zip bomb guard)
    ├── ProfileError (ValueError)       the profile is unreadable or points at nothing
    │   └── DetectionError              no profile given and detection found nothing / too much
    ├── TemplateError (ValueError)      the template's content cannot be converted
    │   ├── RentRowError                the rent row is missing, holds an error or text
    │   └── ExternalLinkError           a formula reads another workbook (never fetched)
    ├── EvaluationError                 the formula engine cannot produce a trustworthy value
    │   ├── UnsupportedFunctionError    a function the engine cannot evaluate
    │   ├── UnsupportedFeatureError     a workbook feature gpucredit cannot compute yet (named in the message)
    │   └── ReconciliationError         the engine does not reproduce Excel's cached values
    ├── ConsistencyError                a recomputed number disagrees with the model (a bug guard)
    ├── ParameterError (ValueError)     a bad curve parameter, preset or mode
    └── OutputError                     the output cannot be written where it was asked for
        └── OutputExistsError           the output exists and overwriting was not asked for
"""

from __future__ import annotations

import re
from pathlib import Path


class GpuCreditError(Exception):
    """Base of every error gpucredit raises on purpose.

    Parameters
    ----------
    message
        What is wrong and how to fix it, without the location prefix.
    path
        The file concerned, when there is one.
    sheet, cell
        Where in the workbook, when known (``cell`` may be a range or a list).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        sheet: str | None = None,
        cell: str | None = None,
    ) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        self.sheet = sheet
        self.cell = cell
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``FILE: Sheet!A1: message`` — the form the CLI prints after ``error:``."""
        parts: list[str] = []
        if self.path is not None:
            parts.append(self.path.name)
        if self.sheet is not None and self.cell is not None:
            parts.append(f"{_quoted(self.sheet)}!{self.cell}")
        elif self.sheet is not None:
            parts.append(self.sheet)
        elif self.cell is not None:
            parts.append(self.cell)
        parts.append(" ".join(self.message.split()))
        return ": ".join(parts)

    def with_path(self, path: str | Path) -> GpuCreditError:
        """Attach the file name if the raiser did not know it; returns self."""
        if self.path is None:
            self.path = Path(path)
            self.args = (self.one_line(),)
        return self


_PLAIN_SHEET = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_CELL_LIKE = re.compile(r"\$?[A-Za-z]{1,3}\$?\d{1,7}")


def _quoted(sheet: str) -> str:
    """A sheet name as a formula writes it before ``!``: quoted when it has spaces or punctuation, starts
    with a digit or looks like a cell (``'Solar Model'!G82``). The kernel modules stand alone, so this
    repeats the rule of ``engine.refs.quote_sheet``."""
    if _PLAIN_SHEET.fullmatch(sheet) and not _CELL_LIKE.fullmatch(sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


class InputFileError(GpuCreditError, ValueError):
    """The input cannot be read as an Excel workbook."""


class FileMissingError(InputFileError):
    """The input path does not exist or is not a file."""


class NotAWorkbookError(InputFileError):
    """The file is not an Office Open XML workbook (.xlsx / .xlsm)."""


class MalformedWorkbookError(InputFileError):
    """A part holds a value Excel never writes (checked once, at load, so later steps can trust it)."""


class UnsafeWorkbookError(InputFileError):
    """A part declares a DTD or entities, which workbooks never need (an XML bomb or an XXE probe)."""


class WorkbookTooLargeError(InputFileError):
    """The package exceeds a size, part-count or compression-ratio limit."""


class ProfileError(GpuCreditError, ValueError):
    """The template profile is unreadable or names cells that are not there."""


class DetectionError(ProfileError):
    """Detection found no candidate, or several, for a field of the profile."""


class TemplateError(GpuCreditError, ValueError):
    """The template's content cannot be converted as it stands."""


class RentRowError(TemplateError):
    """The rent row is missing, empty, or holds an error or text."""


class ExternalLinkError(TemplateError):
    """A formula or defined name reads another workbook; gpucredit never opens or fetches it."""


class EvaluationError(GpuCreditError):
    """The formula engine could not produce a value that can be trusted."""


class UnsupportedFunctionError(EvaluationError):
    """A formula uses a function the engine cannot evaluate."""


class UnsupportedFeatureError(EvaluationError):
    """A workbook feature gpucredit cannot compute yet (such as formulas that read a What-If data table)."""


class ReconciliationError(EvaluationError):
    """Recomputing the unpatched workbook does not reproduce the values Excel cached in it."""


class ConsistencyError(GpuCreditError):
    """A recomputed value disagrees with the independent model computation."""


class ParameterError(GpuCreditError, ValueError):
    """A curve parameter, preset name or mode is not valid."""


class OutputError(GpuCreditError):
    """The output path cannot be written: a folder, a name Excel cannot open, a folder that is missing or locked."""


class OutputExistsError(OutputError):
    """The output exists and overwriting it was not asked for.

    The message names the Python argument (``force=True``); the command line says ``--force`` instead.
    """

    def __init__(self, what: str, *, path: str | Path) -> None:
        super().__init__(f"{what} exists; pass force=True to overwrite it", path=path)
