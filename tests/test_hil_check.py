"""`tinykit check`: budgets held at the measured figure, regressions 1 % below it, errors, outputs,
and several emulated boards at once (one worker per board, one table, one JSON)."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from tinykit import __version__, oracle
from tinykit.cli import main
from tinykit.models import reference_model

MODEL = reference_model("hello_world")
TIGHTER = 0.99  # "1 % below the measured figure"
FIGURE_OF = {"max_instructions": "instructions_per_inference", "max_flash_bytes": "flash_bytes",
             "max_ram_bytes": "ram_bytes", "max_stack_bytes": "stack_used_bytes"}


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TINYKIT_CACHE", str(tmp_path_factory.getbasetemp() / "hil-cache"))


def dataset(root: Path) -> Path:
    """hello_world has one output, so its top-1 class is always 0: three inputs labelled 0, one 1 (0.75)."""
    data = root / "data"
    for name, seed in (("zero", 1), ("zero", 2), ("zero", 3), ("one", 4)):
        (data / name).mkdir(parents=True, exist_ok=True)
        blob = np.frombuffer(oracle.random_inputs(MODEL, 1, seed=seed)[0], dtype=np.int8)
        np.save(data / name / f"x{seed}.npy", blob)
    (data / "labels.txt").write_text("zero\none\n")
    return data


def write_spec(root: Path, budget: dict, boards=("qemu-m4",), with_data: bool = True) -> Path:
    check = {"model": str(MODEL), "boards": list(boards), "inputs": 2, "budget": budget}
    if with_data:
        check["dataset"] = "data"
    path = root / "budget.yaml"
    path.write_text(yaml.safe_dump({"checks": [check]}))
    return path


def run_check(*args: str):
    return CliRunner().invoke(main, ["check", *args])


@pytest.mark.qemu
def test_budget_at_the_figure_passes_and_one_percent_below_fails(tmp_path):
    dataset(tmp_path)
    loose = {"max_instructions": 10**9, "max_flash_bytes": 10**8, "max_ram_bytes": 10**8, "max_stack_bytes": 10**6,
             "min_accuracy": 0.5}
    res = run_check(str(write_spec(tmp_path, loose)), "-o", str(tmp_path / "r.json"))
    assert res.exit_code == 0, res.output
    data = json.loads((tmp_path / "r.json").read_text())
    figures = data["results"][0]["figures"]
    assert figures["accuracy"] == 0.75 and figures["mismatched_bytes"] == 0
    assert data["tinykit_version"] == __version__ and data["results"][0]["board"] == "qemu-m4"
    assert len(figures["firmware_sha256"]) == 64 and figures["model_sha256"] == oracle.model_sha256(MODEL)

    at = {name: figures[key] for name, key in FIGURE_OF.items()} | {"min_accuracy": 0.75, "bit_exact": True}
    res = run_check(str(write_spec(tmp_path, at)), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["passed"] is True

    tight = {name: math.floor(v * TIGHTER) for name, v in at.items() if name.startswith("max_")}
    tight["min_accuracy"] = 0.75 / TIGHTER
    junit = tmp_path / "check.xml"
    res = run_check(str(write_spec(tmp_path, tight)), "--junit", str(junit))
    assert res.exit_code == 1, res.output
    for name, key in FIGURE_OF.items():
        line = f"regressed {name}: {figures[key]:,} (budget <= {tight[name]:,})"
        assert line in res.stderr, res.stderr
    assert "regressed min_accuracy: 0.75 (budget >= 0.7576)" in res.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    failed = {c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None}
    assert failed == set(FIGURE_OF) | {"min_accuracy"}
    props = {p.get("name"): p.get("value") for p in suite.find("testcase").iter("property")}
    assert props["instructions_per_inference"] == str(figures["instructions_per_inference"])


@pytest.mark.qemu
def test_several_boards_in_parallel_one_table_one_json(tmp_path):
    boards = ("qemu-m4", "qemu-m0", "qemu-m7")
    spec = write_spec(tmp_path, {"max_flash_bytes": 10**8}, boards=boards, with_data=False)
    res = run_check(str(spec), "--json", "--jobs", "3")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["results"]
    assert [r["board"] for r in rows] == list(boards)
    counts = {r["board"]: r["figures"]["instructions_per_inference"] for r in rows}
    assert len(set(counts.values())) >= 2, counts  # different cores, different counts: each really ran
    assert all(r["figures"]["mismatched_bytes"] == 0 for r in rows)


@pytest.mark.qemu
def test_budget_the_board_cannot_measure_is_an_error(tmp_path):
    res = run_check(str(write_spec(tmp_path, {"max_us": 100.0}, with_data=False)))
    assert res.exit_code == 2, res.output
    assert "budget max_us cannot be checked on qemu-m4" in res.stderr


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read budget spec"),
    ("checks: [", "not valid YAML"),
    ("checks: []", "checks: List should have at least 1 item"),
    ("checks: [{model: m.tflite, boards: [qemu-m4], budget: {max_latency: 3}}]",
     "checks.0.budget.max_latency: Extra inputs are not permitted"),
    ("checks: [{model: m.tflite, budget: {}}]", "give board: ID or boards"),
    ("checks: [{model: m.tflite, board: qemu-m4, budget: {min_accuracy: 0.5}}]", "min_accuracy needs a dataset"),
    ("checks: [{model: m.tflite, board: qemu-m4, budget: {max_flash_bytes: -1}}]", "greater than 0"),
])
def test_bad_spec_is_one_line_exit_2(tmp_path, content, message):
    spec = tmp_path / "spec.yaml"
    if content is not None:
        spec.write_text(content)
    res = run_check(str(spec))
    assert res.exit_code == 2, res.output
    assert message in res.stderr and "Traceback" not in res.output


def test_port_and_place_need_one_board(tmp_path):
    spec = write_spec(tmp_path, {}, boards=("qemu-m4", "qemu-m0"), with_data=False)
    res = run_check(str(spec), "--port", "socket://127.0.0.1:1")
    assert res.exit_code == 2 and "--port needs exactly one board" in res.stderr
    res = run_check(str(spec), "--place", "rack-1")
    assert res.exit_code == 2 and "--place rack-1: which board is it?" in res.stderr
    res = run_check(str(spec), "--board", "qemu-m55")
    assert res.exit_code == 2 and "no check of" in res.stderr


@pytest.mark.qemu
def test_bench_on_several_boards_in_parallel(tmp_path):
    boards = ("qemu-m4", "qemu-m3")
    res = CliRunner().invoke(main, ["bench", "--model", "hello_world", "--count", "2", "--json", "-o", str(tmp_path),
                                    *[x for b in boards for x in ("--board", b)]])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["boards"] == list(boards) and [r["board"] for r in data["rows"]] == list(boards)
    assert all(r["mismatched_bytes"] == 0 for r in data["rows"])
    assert json.loads((tmp_path / "bench.json").read_text())["rows"] == data["rows"]
    assert all((tmp_path / b / "hello_world" / "results.json").exists() for b in boards)
