"""Host verification: every shared reference model's generated C equals the tflite-micro runtime
byte for byte on 100 random inputs (plain C path and the emulated DSP path), and the check itself
can fail."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from codegen_helpers import host_library

from tinykit import oracle
from tinykit.cli import main
from tinykit.codegen import generate
from tinykit.models import reference_model
from tinykit.verify import HostModel, build_host_library, compare_outputs

SHARED = ["hello_world", "ad", "kws", "ic", "vww"]
N_INPUTS = 100


def _mismatches(path, host: HostModel, n: int, seed: int = 0) -> int:
    blobs = oracle.random_inputs(path, n, seed)
    refs = oracle.reference_outputs(path, blobs)
    dtypes = [s.dtype for s in oracle.output_specs(path)]
    return sum(compare_outputs(host.run([b]), r, dtypes)[0] for b, r in zip(blobs, refs, strict=True))


@pytest.mark.host
@pytest.mark.parametrize("name", SHARED)
def test_shared_model_bit_exact(name):
    path = reference_model(name)
    host, lib = host_library(path)
    assert _mismatches(path, host, N_INPUTS) == 0
    assert lib.arena_bytes > 0


@pytest.mark.host
@pytest.mark.parametrize("name", ["hello_world", "ad", "kws", "ic"])
def test_shared_model_bit_exact_dsp_path(name):
    path = reference_model(name)
    host, _ = host_library(path, dsp_emulate=True)
    assert _mismatches(path, host, 30, seed=1) == 0


# TFLite Micro's arena for the reference kernels (ANCHORS.md): ours must be no larger.
TFLM_ARENA = {"kws": 22772, "ic": 54340, "vww": 100660, "ad": 2260, "hello_world": 676}


@pytest.mark.host
@pytest.mark.parametrize("name", SHARED)
def test_arena_not_larger_than_tflm(name):
    _, lib = host_library(reference_model(name))
    assert lib.arena_bytes <= TFLM_ARENA[name]


@pytest.mark.host
def test_verify_detects_a_wrong_byte(tmp_path):
    """Corrupt one bias in the generated weights: the comparison must report mismatches."""
    path = reference_model("hello_world")
    lib = generate(path, tmp_path / "lib")
    weights = lib.dir / "model_weights.c"
    text = weights.read_text()
    text, n = re.subn(r"(model_op2_bias\[1\] TK_ALIGN\(16\) = \{\n\s+)(-?\d+)",
                      lambda m: m.group(1) + str(int(m.group(2)) + 5000), text)
    assert n == 1
    weights.write_text(text)
    so = build_host_library(lib.dir)
    host = HostModel(so, "model", [1], [1])
    assert _mismatches(path, host, 20) > 0


@pytest.mark.host
def test_cli_verify_json():
    result = CliRunner().invoke(main, ["verify", str(reference_model("hello_world")), "--host", "--inputs", "7",
                                       "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["inputs"] == 7 and data["mismatched_bytes"] == 0 and data["max_abs_diff"] == 0


@pytest.mark.host
def test_cli_verify_text():
    result = CliRunner().invoke(main, ["verify", str(reference_model("ad")), "--host", "--inputs", "3"])
    assert result.exit_code == 0 and "bit-exact: 3 inputs, 0 mismatched bytes" in result.output
