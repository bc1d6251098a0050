"""Hostile inputs made from the shipped templates: hypothesis strategies and a time-limited runner.

Not a test module. ``tests/engine/test_hostile.py`` draws a few dozen cases in CI and
``benchmarks/fuzz.py`` draws thousands; both run each case with :func:`run_case`.

A :class:`Mutation` is plain data (template, level, operation, part, arguments), so a failing case
prints as something you can replay with :func:`mutated_bytes`. Three levels:

- ``package``: drop, duplicate, rename, empty or truncate a part; truncate the file; flip bytes of the zip.
- ``xml``: delete or rename an element, delete or garble an attribute, inject text, insert or
  delete raw bytes (which usually breaks well-formedness).
- ``cell``: replace a formula with junk, a value with text or a bad type, move or remove a cell.

Half the cases are converted without the template's profile beside them, so detection reads the
mutated workbook too. The engine must convert each one or raise a :class:`engine.errors.GpuCreditError` subclass with a
one-line message naming the file; never another exception, never a hang, never a changed input,
never an output left behind after an error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import multiprocessing
import resource
import shutil
import traceback
import warnings
import zipfile
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
FUZZ_TEMPLATES = ("dc_lease_annual", "gpu_ddtl_quarterly")
TIME_LIMIT_S = 10.0
MEMORY_LIMIT_BYTES = 4 * 2**30  # a runaway allocation fails in the child instead of swapping the machine

# Formulas a hostile or careless template might hold; hypothesis adds its own text too.
JUNK_FORMULAS = (
    "", "=", "SUM(", "SUM(A1:", ")", "A1:", "#REF!", "#REF!+1", "1/0", "NA()", "INDIRECT(\"A1\")",
    "OFFSET(A1,1048576,0)", "'[1]Sheet1'!A1", "[1]!Name", "A1048576", "XFD1048576+1", "XFE1", "A0",
    "Model!ZZZZ1", "NoSuchSheet!A1", "LAMBDA(x,x)(1)", "A:A", "SUM(A1:XFD1048576)", "1E+309", "-1E-400",
    "\"unterminated", "\"\"\"", "{1,2;3}", "A1 A2", "A1,,", "((((((((((1))))))))))", "1" * 9000,
    "WEBSERVICE(\"http://127.0.0.1:9/\")", "HYPERLINK(\"file:///etc/passwd\")", "CALL(\"kernel32\")",
    "E4+E4" * 200, "E5*", "DATE(99999,1,1)", "EDATE(\"x\",1)", "ROW()/0", "RAND()",
)
JUNK_VALUES = ("", "abc", "NaN", "inf", "-inf", "1e999", "1,5", "0x10", "#REF!", "#BOGUS!", " 1 ", "9" * 400,
               "-0", "TRUE", "2", "99999999", "\u00a0")
CELL_TYPES = (None, "n", "s", "str", "inlineStr", "b", "e", "d", "x")
JUNK_REFS = ("", "A0", "A1048577", "XFE1", "1A", "ZZ", "A1", "$A$1", "a1", "A-1", "XFD1048576", "R1C1", "Z9")
JUNK_NAMES = ("foo", "c", "row", "v", "f", "sheetData", "worksheet", "is", "t", "Relationship", "Override")
RENAMED_PARTS = ("xl/worksheets/sheet9.xml", "XL/WORKBOOK.XML", "xl/workbook.xml.bak", "/xl/styles.xml",
                 "xl/worksheets/../workbook2.xml", "_rels/.rels2", "[content_types].xml")

_printable = st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co"))
_junk_text = st.one_of(st.text(_printable, max_size=40), st.sampled_from(JUNK_VALUES))
_fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@dataclass(frozen=True)
class Mutation:
    """One change to one template; ``args`` are plain values, so the case can be printed and replayed."""

    template: str
    level: str
    op: str
    part: str
    args: tuple[Any, ...] = ()
    profile: bool = True  # False: the template's profile is not beside it, so detection reads the mutated file

    def __str__(self) -> str:
        shown = ", ".join(repr(a)[:60] for a in self.args)
        where = "" if self.profile else ", no profile"
        return f"{self.template}: {self.level}/{self.op} {self.part} ({shown}){where}"


@dataclass(frozen=True)
class Outcome:
    """What the engine did with one mutated file."""

    kind: str  # converted | error | uncaught | timeout | crashed
    error_class: str = ""
    message: str = ""
    traceback: str = ""
    input_unchanged: bool = True
    output_left: bool = False
    seconds: float = 0.0


@cache
def template_parts(template: str) -> dict[str, bytes]:
    """The parts of a shipped template, in zip order."""
    with zipfile.ZipFile(TEMPLATES / f"{template}.xlsx") as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _xml_parts(template: str) -> list[str]:
    return [n for n in template_parts(template) if n.endswith((".xml", ".rels"))]


def _sheet_parts(template: str) -> list[str]:
    return [n for n in template_parts(template) if n.startswith("xl/worksheets/") and n.endswith(".xml")]


# -- strategies ---------------------------------------------------------------------------------------
@st.composite
def package_mutations(draw: st.DrawFn) -> Mutation:
    template = draw(st.sampled_from(FUZZ_TEMPLATES))
    part = draw(st.sampled_from(list(template_parts(template))))
    op = draw(st.sampled_from(["drop", "duplicate", "rename", "empty", "truncate_part", "truncate_file",
                               "flip_bytes", "stored"]))
    args: tuple[Any, ...] = ()
    if op == "rename":
        args = (draw(st.sampled_from(RENAMED_PARTS)),)
    elif op in ("truncate_part", "truncate_file"):
        args = (draw(_fraction),)
    elif op == "flip_bytes":
        args = tuple(draw(st.lists(st.tuples(_fraction, st.integers(1, 255)), min_size=1, max_size=8)))
    return Mutation(template, "package", op, part, args)


@st.composite
def xml_mutations(draw: st.DrawFn) -> Mutation:
    template = draw(st.sampled_from(FUZZ_TEMPLATES))
    part = draw(st.sampled_from(_xml_parts(template)))
    op = draw(st.sampled_from(["delete_element", "rename_element", "delete_attribute", "set_attribute",
                               "inject_text", "insert_bytes", "delete_bytes"]))
    index = draw(st.integers(0, 10_000))
    if op == "rename_element":
        args: tuple[Any, ...] = (index, draw(st.sampled_from(JUNK_NAMES)), draw(st.booleans()))
    elif op == "delete_attribute":
        args = (index, draw(st.integers(0, 20)))
    elif op in ("set_attribute", "inject_text"):
        args = (index, draw(st.integers(0, 20)), draw(_junk_text))
    elif op == "insert_bytes":
        args = (draw(_fraction), draw(st.one_of(st.binary(min_size=1, max_size=20),
                                                 st.sampled_from([b"<", b"&", b"]]>", b"<!DOCTYPE x>", b"\0",
                                                                  b"&amp", b"</row>", b"<c>", b"\xff\xfe"]))))
    elif op == "delete_bytes":
        args = (draw(_fraction), draw(st.integers(1, 200)))
    else:
        args = (index,)
    return Mutation(template, "xml", op, part, args)


@st.composite
def cell_mutations(draw: st.DrawFn) -> Mutation:
    template = draw(st.sampled_from(FUZZ_TEMPLATES))
    part = draw(st.sampled_from(_sheet_parts(template)))
    op = draw(st.sampled_from(["formula_junk", "value_junk", "cell_type", "move_cell", "remove_cell",
                               "formula_to_value"]))
    index = draw(st.integers(0, 10_000))
    if op == "formula_junk":
        args: tuple[Any, ...] = (index, draw(st.one_of(st.sampled_from(JUNK_FORMULAS), st.text(_printable,
                                                                                              max_size=40))))
    elif op == "value_junk":
        args = (index, draw(_junk_text))
    elif op == "cell_type":
        args = (index, draw(st.sampled_from(CELL_TYPES)))
    elif op == "move_cell":
        args = (index, draw(st.sampled_from(JUNK_REFS)))
    else:
        args = (index,)
    return Mutation(template, "cell", op, part, args)


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    """Any mutation, the three levels equally likely; half of them without the profile beside the file."""
    mutation = draw(st.one_of(package_mutations(), xml_mutations(), cell_mutations()))
    return dataclasses.replace(mutation, profile=draw(st.booleans()))


# -- applying a mutation ------------------------------------------------------------------------------
def _zip(parts: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name" is the point of one mutation
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in parts:
                zf.writestr(name, data)
    return buf.getvalue()


def _at(data: bytes, fraction: float) -> int:
    return min(int(fraction * len(data)), max(len(data) - 1, 0))


def mutated_bytes(mutation: Mutation) -> bytes:
    """The bytes of the mutated workbook."""
    parts = list(template_parts(mutation.template).items())
    names = [n for n, _ in parts]
    i = names.index(mutation.part)
    op, args = mutation.op, mutation.args
    if mutation.level == "package":
        if op == "drop":
            del parts[i]
        elif op == "duplicate":
            parts.insert(i + 1, parts[i])
        elif op == "rename":
            parts[i] = (args[0], parts[i][1])
        elif op == "empty":
            parts[i] = (mutation.part, b"")
        elif op == "truncate_part":
            parts[i] = (mutation.part, parts[i][1][:_at(parts[i][1], args[0])])
        elif op == "stored":
            return _zip(parts, zipfile.ZIP_STORED)
        data = _zip(parts)
        if op == "truncate_file":
            return data[:_at(data, args[0])]
        if op == "flip_bytes":
            raw = bytearray(data)
            for fraction, mask in args:
                raw[_at(data, fraction)] ^= mask
            return bytes(raw)
        return data
    parts[i] = (mutation.part, _mutate_part(parts[i][1], mutation))
    return _zip(parts)


def _mutate_part(data: bytes, mutation: Mutation) -> bytes:
    op, args = mutation.op, mutation.args
    if op == "insert_bytes":
        at = _at(data, args[0])
        return data[:at] + args[1] + data[at:]
    if op == "delete_bytes":
        at = _at(data, args[0])
        return data[:at] + data[at + args[1]:]
    root = etree.fromstring(data)
    if mutation.level == "cell":
        elements = [el for el in root.iter() if etree.QName(el).localname == "c"]
    else:
        elements = [el for el in root.iter() if isinstance(el.tag, str)]
    if not elements:
        return data
    el = elements[args[0] % len(elements)]
    _edit_element(root, el, op, args)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _edit_element(root: etree._Element, el: etree._Element, op: str, args: tuple[Any, ...]) -> None:
    ns = etree.QName(el).namespace
    attrs = list(el.attrib)
    if op in ("delete_element", "remove_cell") and el.getparent() is not None:
        el.getparent().remove(el)
    elif op == "rename_element":
        el.tag = f"{{{ns}}}{args[1]}" if ns and args[2] else args[1]
    elif op == "delete_attribute" and attrs:
        del el.attrib[attrs[args[1] % len(attrs)]]
    elif op == "set_attribute" and attrs:
        el.set(attrs[args[1] % len(attrs)], args[2])
    elif op == "inject_text":
        el.text = args[2]
    elif op == "formula_junk":
        f_el = el.find(f"{{{ns}}}f")
        if f_el is None:
            f_el = etree.SubElement(el, f"{{{ns}}}f")
            el.insert(0, f_el)
        f_el.text = args[1]
    elif op == "value_junk":
        v_el = el.find(f"{{{ns}}}v")
        if v_el is None:
            v_el = etree.SubElement(el, f"{{{ns}}}v")
        v_el.text = args[1]
    elif op == "cell_type":
        if args[1] is None:
            el.attrib.pop("t", None)
        else:
            el.set("t", args[1])
    elif op == "move_cell":
        el.set("r", args[1])
    elif op == "formula_to_value":
        for f_el in el.findall(f"{{{ns}}}f"):
            el.remove(f_el)


# -- running a case -----------------------------------------------------------------------------------
def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _convert_in_child(conn: Any, src: str, out: str) -> None:
    """Runs in a fresh process: convert, and send back what happened."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    from engine.convert import convert
    from engine.errors import GpuCreditError

    try:
        convert(src, out)
        conn.send(("converted", "", "", ""))
    except GpuCreditError as exc:
        conn.send(("error", type(exc).__name__, str(exc), ""))
    except BaseException as exc:  # noqa: BLE001 - the harness's job is to report what the engine lets escape
        conn.send(("uncaught", type(exc).__name__, str(exc)[:1000], traceback.format_exc()))
    finally:
        conn.close()


@lru_cache(maxsize=1)
def _context() -> multiprocessing.context.BaseContext:
    # forkserver: each case forks from a clean server that imported the engine once (fast, and no
    # threads of the parent's formula engine are inherited)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["engine.convert"])
    return ctx


def run_case(data: bytes, folder: Path, *, template: str, time_limit_s: float = TIME_LIMIT_S,
             profile: bool = True) -> Outcome:
    """Write ``data`` as ``folder/<template>.xlsx`` (with ``profile``, its profile beside it; without,
    detection finds the lines) and convert it in a child process."""
    import time

    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"{template}.xlsx"
    out = folder / f"{template}.out.xlsx"
    src.write_bytes(data)
    if profile:
        shutil.copy2(TEMPLATES / f"{template}.toml", folder / f"{template}.toml")
    digest = _sha(src)
    ctx = _context()
    receiver, sender = ctx.Pipe(duplex=False)
    started = time.perf_counter()
    process = ctx.Process(target=_convert_in_child, args=(sender, str(src), str(out)))
    process.start()
    sender.close()
    result: tuple[str, str, str, str] | None = None
    if receiver.poll(time_limit_s):
        try:
            result = receiver.recv()
        except EOFError:
            result = None
    process.join(max(time_limit_s - (time.perf_counter() - started), 0.1))
    seconds = time.perf_counter() - started
    if process.is_alive():
        process.kill()
        process.join()
        result = ("timeout", "", f"over {time_limit_s:g} s", "")
    elif result is None:
        result = ("crashed", f"exit code {process.exitcode}", "the process died without a result", "")
    receiver.close()
    kind, error_class, message, trace = result
    expected = {src.name} | ({f"{template}.toml"} if profile else set()) | ({out.name} if kind == "converted" else set())
    left = {p.name for p in folder.iterdir()} - expected  # the output, or a temporary file, after a failure
    outcome = Outcome(kind, error_class, message, trace, input_unchanged=_sha(src) == digest,
                      output_left=bool(left), seconds=seconds)
    for leftover in folder.iterdir():
        leftover.unlink()
    return outcome
