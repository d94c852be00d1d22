"""`tinykit check`: run a budget spec on boards (in parallel, a worker per board) and judge it.

Each (model, board) runs in one session (:func:`tinykit.hil.session.open_session`): random inputs
timed and compared byte for byte with the reference, the dataset (if any) for accuracy, sizes from
the build. Rows of every worker are gathered into one list, one table, one JSON and one JUnit file.
An error on one board (it does not answer, a place is taken) is recorded in its rows and does not
stop the other workers; the exit code says which happened (0 held, 1 regressed, 2 error).
"""

from __future__ import annotations

import concurrent.futures as cf
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinykit import oracle
from tinykit.errors import TinykitError
from tinykit.files import write_atomic
from tinykit.hil.budget import Check, Spec, judge
from tinykit.hil.dataset import load_labelled_inputs
from tinykit.hil.session import BoardSession, open_session
from tinykit.hil.target import Target

EXIT_OK, EXIT_REGRESSED, EXIT_ERROR = 0, 1, 2
# Workers when the caller does not say: one per target, but never more than this.
MAX_DEFAULT_JOBS = 4


@dataclass
class Row:
    """One check on one board: its figures, its verdicts, or the error that stopped it."""

    model: str
    target: Target
    figures: dict[str, Any] = field(default_factory=dict)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def status(self) -> str:
        if self.error:
            return "error"
        return "pass" if all(v["ok"] for v in self.verdicts) else "regressed"

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "board": self.target.board, "place": self.target.place,
                "port": self.target.port, "status": self.status, "error": self.error,
                "figures": self.figures, "budgets": self.verdicts}


def _figures(session: BoardSession, check: Check) -> dict[str, Any]:
    timed = session.measure(count=check.inputs)
    keep = ("instructions_per_inference", "cycles_per_inference", "latency_us", "arena_bytes", "stack_bytes",
            "stack_used_bytes", "inputs", "device_faults")
    figures = {k: timed.get(k) for k in keep if k in timed}
    figures.update(session.firmware.to_dict())
    figures["mismatched_bytes"] = timed["mismatched_bytes"]
    figures["accuracy"] = None
    if check.dataset is not None:
        input_bytes = sum(s.nbytes for s in oracle.input_specs(session.firmware.model))
        data = load_labelled_inputs(check.dataset, input_bytes)
        scored = session.measure(inputs=data.inputs, labels=data.labels)
        figures.update(accuracy=scored["accuracy"], host_accuracy=scored["host_accuracy"],
                       dataset_inputs=len(data.inputs))
        figures["mismatched_bytes"] += scored["mismatched_bytes"]
    figures.update({k: session.place_info[k] for k in session.place_info})
    return figures


def _run_target(jobs: list[Check], target: Target, progress: Callable[[str], None] | None) -> list[Row]:
    rows = []
    for check in jobs:
        row = Row(str(check.model), target)
        if progress:
            progress(f"check: {Path(check.model).name} on {target.label} ...")
        try:
            with open_session(check.model, target) as session:
                row.figures = _figures(session, check)
            row.verdicts = [v.to_dict() for v in judge(check.budget, row.figures, target.board)]
        except TinykitError as err:
            row.error = err.message + (f" ({err.hint})" if err.hint else "")
        rows.append(row)
    return rows


def plan(spec: Spec, targets: list[Target]) -> dict[Target, list[Check]]:
    """Which checks each target runs: those whose boards include the target's board."""
    work = {t: [c for c in spec.checks if t.board in c.boards] for t in targets}
    return {t: jobs for t, jobs in work.items() if jobs}


def run_checks(spec: Spec, targets: list[Target], jobs: int | None = None,
               progress: Callable[[str], None] | None = None) -> list[Row]:
    """Every check on every target, a worker per target; rows in spec order, then target order."""
    work = plan(spec, targets)
    workers = max(1, min(jobs or min(len(work), MAX_DEFAULT_JOBS), len(work) or 1))
    with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tinykit-check") as pool:
        futures = {t: pool.submit(_run_target, checks, t, progress) for t, checks in work.items()}
        by_target = {t: f.result() for t, f in futures.items()}
    return [row for t in work for row in by_target[t]]


def exit_code(rows: list[Row]) -> int:
    if any(r.status == "error" for r in rows):
        return EXIT_ERROR
    return EXIT_REGRESSED if any(r.status == "regressed" for r in rows) else EXIT_OK


def failures(rows: list[Row]) -> list[str]:
    """One line per regressed budget or error: what the CLI prints and CI shows."""
    lines = []
    for row in rows:
        where = f"{Path(row.model).name} on {row.target.label}"
        if row.error:
            lines.append(f"{where}: error: {row.error}")
        lines += [f"{where}: regressed {_describe(v)}" for v in row.verdicts if not v["ok"]]
    return lines


def _describe(v: dict[str, Any]) -> str:
    from tinykit.hil.budget import Verdict

    return Verdict(v["budget"], v["figure"], v["limit"], v["ok"]).describe()


def junit_xml(rows: list[Row], suite: str = "tinykit check") -> bytes:
    """JUnit XML: a test case per budget item (or one error case), the figures as properties."""
    root = ET.Element("testsuites")
    cases = [(row, v) for row in rows for v in (row.verdicts or [None])]
    ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(cases)),
                       failures=str(sum(1 for _, v in cases if v and not v["ok"])),
                       errors=str(sum(1 for row, v in cases if v is None and row.error)))
    for row, verdict in cases:
        classname = f"{Path(row.model).stem}.{row.target.label}"
        case = ET.SubElement(ts, "testcase", classname=classname, name=verdict["budget"] if verdict else "session")
        props = ET.SubElement(case, "properties")
        for key, value in sorted(row.figures.items()):
            if isinstance(value, int | float | str | bool) and value is not None:
                ET.SubElement(props, "property", name=key, value=str(value))
        if verdict and not verdict["ok"]:
            ET.SubElement(case, "failure", message=f"regressed {_describe(verdict)}")
        elif verdict is None and row.error:
            ET.SubElement(case, "error", message=row.error)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(path: Path, rows: list[Row]) -> Path:
    return write_atomic(path, junit_xml(rows))
