"""`tinykit run` / `measure` / `bench` on the emulated Cortex-M4 (QEMU) with FW's real firmware."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from tinykit import bench
from tinykit.cli import main
from tinykit.models import reference_model

needs_qemu = pytest.mark.skipif(
    not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")),
    reason="needs qemu-system-arm and arm-none-eabi-gcc",
)
HELLO = reference_model("hello_world")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def assert_one_error_line(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0], result.output


@pytest.mark.qemu
@needs_qemu
def test_run_hello_world_json_is_bit_exact(tmp_path):
    res = invoke("run", str(HELLO), "--board", "qemu-m4", "--json", "-o", str(tmp_path), "--count", "20")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data == json.loads((tmp_path / "results.json").read_text())
    assert data["board"] == "qemu-m4" and data["emulated"] is True
    assert data["mismatched_bytes"] == 0 and data["validation"]["compared_bytes"] == 20
    assert data["inputs"] == 20 and data["latency"]["samples"] == 20
    # hello_world is 288 MACs: a few thousand instructions, not zero and not millions
    assert 500 < data["instructions_per_inference"] < 100_000
    assert "cycles_per_inference" not in data and "latency_us" not in data
    assert 0 < data["flash_bytes"] < data["flash_total"] and 0 < data["ram_bytes"] < data["ram_total"]
    assert data["model_sha256"] == data["device"]["info"]["model"] + data["model_sha256"][16:]
    assert len(data["layers"]) == 3 and all(layer["cycles"] > 0 for layer in data["layers"])
    assert sum(layer["cycles"] for layer in data["layers"]) <= data["instructions_per_inference"]
    assert data["arena_bytes"] > 0 and 0 < data["stack_used_bytes"] <= data["stack_bytes"]
    assert data["toolchain"].startswith("arm-none-eabi-gcc")
    assert data["energy_estimate"]["label"] == "estimate"


@pytest.mark.qemu
@needs_qemu
def test_measure_twenty_inputs_over_qemu_link(tmp_path):
    from tinykit.firmware.build import build_firmware
    from tinykit.flash import get_flasher
    from tinykit.measure import MeasureRequest, measure
    from tinykit.targets.boards import load_board

    board = load_board("qemu-m4")
    model = reference_model("ad")
    build = build_firmware(model, board, tmp_path / "build")
    with get_flasher(board).flash(build.dir) as link:
        result = measure(MeasureRequest(url=link.url, board=board, model_path=model, num_inputs=20, runs=2))
    assert result["mismatched_bytes"] == 0 and result["validation"]["compared_bytes"] == 20 * 640
    assert result["latency"]["samples"] == 40 and result["device_faults"] == []
    # instructions are deterministic for a given input under -icount: repeated runs agree closely
    assert result["latency"]["max"] - result["latency"]["min"] < 0.05 * result["latency"]["median"]


@pytest.mark.qemu
@needs_qemu
def test_measure_build_dir_of_detached_qemu_twice(tmp_path):
    """`tinykit flash DIR` leaves QEMU running; `measure --build DIR` finds it, also a second time."""
    from tinykit.firmware.build import build_firmware
    from tinykit.flash import get_flasher, stop_detached

    model = reference_model("kws")
    build = build_firmware(model, "qemu-m4", tmp_path / "build")
    get_flasher("qemu-m4").start_detached(build.dir)
    try:
        for _ in range(2):  # the second connection sees no boot lines: the guest is already up
            res = invoke("measure", "--board", "qemu-m4", "--build", str(build.dir), "--count", "3", "--json")
            assert res.exit_code == 0, res.output
            data = json.loads(res.output)
            assert data["mismatched_bytes"] == 0 and data["model_sha256"] == build.model_sha256
            assert data["flash_bytes"] == build.size.flash_used and data["toolchain"] == build.toolchain
    finally:
        assert stop_detached(build.dir)


@pytest.mark.qemu
@pytest.mark.slow
@needs_qemu
def test_bench_markdown_small_models(tmp_path):
    rows = bench.bench("qemu-m4", tmp_path, models=["hello_world", "ad"], num_inputs=2)
    assert [r["model"] for r in rows] == ["ad", "hello_world"]
    assert all(r["mismatched_bytes"] == 0 and r["instructions_per_inference"] > 0 for r in rows)
    table = bench.markdown(rows)
    assert "| ad | 264,192 |" in table and "1,952,432 (7.39)" in table


def test_bench_markdown_formats_missing_values():
    row = bench.bench_row("kws", reference_model("kws"), {"instructions_per_inference": 5_313_536,
                                                          "flash_bytes": None, "mismatched_bytes": 0})
    table = bench.markdown([row])
    assert "5,313,536 (2.00)" in table and "43,042,792 (16.20)" in table and "| – |" in table


def test_run_unknown_board():
    assert_one_error_line(invoke("run", str(HELLO), "--board", "no-such-board"), "unknown board")


def test_run_results_dir_unwritable(tmp_path):
    (tmp_path / "f").write_text("x")
    assert_one_error_line(invoke("run", str(HELLO), "-o", str(tmp_path / "f" / "sub")), "cannot write")


def test_bench_unknown_model(tmp_path):
    assert_one_error_line(invoke("bench", "--model", "nope", "-o", str(tmp_path)), "unknown reference model")


@pytest.mark.qemu
@needs_qemu
def test_bench_cli_json_hello_world(tmp_path):
    res = invoke("bench", "--model", "hello_world", "--count", "2", "--json", "-o", str(tmp_path))
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)  # progress lines go to stderr
    assert data["board"] == "qemu-m4" and [r["model"] for r in data["rows"]] == ["hello_world"]
    row = data["rows"][0]
    assert row["mismatched_bytes"] == 0 and row["tflm_ref_instructions"] == 5_296
    assert json.loads((tmp_path / "hello_world" / "results.json").read_text())["inputs"] == 2
    assert json.loads((tmp_path / "bench.json").read_text()) == data


def test_run_missing_model_is_one_error_line(tmp_path):
    assert_one_error_line(invoke("run", str(tmp_path / "missing.tflite"), "-o", str(tmp_path / "out")),
                          "no such file")
