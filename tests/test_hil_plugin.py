"""The pytest plugin as a team uses it: docs/examples/test_model_on_board.py copied next to a model and
a dataset folder, run by pytest in a subprocess (the `pytest11` entry point loads the plugin), on
qemu-m4 (and on two boards at once through pytest-xdist); the JUnit XML must carry the figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from tinykit import oracle
from tinykit.models import reference_model

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "docs" / "examples" / "test_model_on_board.py"
# A user's pytest run building, flashing and measuring on a loaded machine: generous, but bounded.
PYTEST_TIMEOUT_S = 900
DATASET_INPUTS = 3


def user_repo(root: Path, model: str) -> Path:
    """What a team's repository holds after copying the example: the test, model.tflite, data/test/."""
    shutil.copy(EXAMPLE, root / EXAMPLE.name)
    path = reference_model(model)
    shutil.copy(path, root / "model.tflite")
    outputs = oracle.reference_outputs(path, oracle.random_inputs(path, DATASET_INPUTS, seed=11))
    for i, (blob, out) in enumerate(zip(oracle.random_inputs(path, DATASET_INPUTS, seed=11), outputs, strict=True)):
        label = int(np.argmax(np.frombuffer(out[0], dtype=np.int8)))  # the reference's own answer
        folder = root / "data" / "test" / f"class{label:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / f"x{i}.npy", np.frombuffer(blob, dtype=np.int8))
    classes = oracle.output_specs(path)[0].nbytes
    (root / "data" / "test" / "labels.txt").write_text("".join(f"class{k:02d}\n" for k in range(classes)))
    return root


def run_pytest(root: Path, *args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TINYKIT_CACHE": str(cache)}
    cmd = [sys.executable, "-m", "pytest", EXAMPLE.name, "-p", "no:cacheprovider", "-o", "junit_family=xunit1",
           "--junitxml", "hil.xml", "--tinykit-results", "figures.json", *args]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=PYTEST_TIMEOUT_S)


def junit_properties(path: Path) -> dict[str, dict[str, str]]:
    cases = ET.parse(path).getroot().iter("testcase")
    return {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")} for c in cases}


def check_figures(props: dict[str, str], board: str) -> None:
    assert props["tinykit.board"] == board
    assert len(props["tinykit.firmware_sha256"]) == 64


@pytest.mark.qemu
def test_example_on_qemu_m4_writes_the_figures_to_junit(tmp_path, tmp_path_factory):
    root = user_repo(tmp_path, "hello_world")
    proc = run_pytest(root, "--tinykit-board", "qemu-m4", cache=tmp_path_factory.getbasetemp() / "hil-cache")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "5 passed" in proc.stdout
    props = junit_properties(root / "hil.xml")
    exact = props["test_outputs_are_bit_exact[qemu-m4]"]
    check_figures(exact, "qemu-m4")
    assert exact["tinykit.mismatched_bytes"] == "0" and int(exact["tinykit.compared_bytes"]) > 0
    assert int(props["test_latency_budget[qemu-m4]"]["tinykit.instructions_per_inference"]) > 0
    memory = props["test_memory_budget[qemu-m4]"]
    assert int(memory["tinykit.flash_bytes"]) > 0 and int(memory["tinykit.stack_used_bytes"]) > 0
    assert float(props["test_accuracy_floor[qemu-m4]"]["tinykit.accuracy"]) == 1.0
    assert int(props["test_one_inference[qemu-m4]"]["tinykit.instructions_last"]) > 0
    rows = json.loads((root / "figures.json").read_text())["results"]
    assert {r["test"].split("::")[1] for r in rows} >= {"test_outputs_are_bit_exact[qemu-m4]"}
    assert "tinykit figures" in proc.stdout


@pytest.mark.qemu
@pytest.mark.slow
def test_example_on_two_boards_with_xdist(tmp_path, tmp_path_factory):
    root = user_repo(tmp_path, "kws")
    proc = run_pytest(root, "--tinykit-board", "qemu-m4,qemu-m3", "-n", "2", "--dist", "loadgroup",
                      cache=tmp_path_factory.getbasetemp() / "hil-cache")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    props = junit_properties(root / "hil.xml")
    for board in ("qemu-m4", "qemu-m3"):
        exact = props[f"test_outputs_are_bit_exact[{board}]"]
        check_figures(exact, board)
        assert exact["tinykit.mismatched_bytes"] == "0"
    m4 = int(props["test_latency_budget[qemu-m4]"]["tinykit.instructions_per_inference"])
    m3 = int(props["test_latency_budget[qemu-m3]"]["tinykit.instructions_per_inference"])
    assert m3 > m4  # no DSP on the M3: each board really ran its own firmware
    rows = json.loads((root / "figures.json").read_text())["results"]
    assert {r["board"] for r in rows} == {"qemu-m4", "qemu-m3"}  # gathered from both workers


MISCONFIGURED = """
from pathlib import Path

import pytest


def test_without_a_model(tinykit_device):
    pass


class TestWithAModel:
    @pytest.fixture(scope="session")
    def tinykit_model(self):
        return Path("model.tflite")

    def test_without_a_board(self, tinykit_device):
        pass
"""


def test_without_a_model_or_a_board_the_tests_fail_saying_what_to_pass(tmp_path):
    (tmp_path / EXAMPLE.name).write_text(MISCONFIGURED)
    proc = subprocess.run([sys.executable, "-m", "pytest", EXAMPLE.name, "-p", "no:cacheprovider", "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=PYTEST_TIMEOUT_S)
    assert proc.returncode == 1
    assert "no model to test: define a tinykit_model fixture, pass --tinykit-model" in proc.stdout
    assert "no board to test on: pass --tinykit-board ID" in proc.stdout
    assert "2 errors" in proc.stdout


def test_plugin_options_coexist_with_the_projects_own():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=REPO,
                          capture_output=True, text=True, timeout=PYTEST_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    for option in ("--board", "--port", "--tinykit-board", "--tinykit-port", "--tinykit-place"):
        assert f"  {option}" in proc.stdout, option
