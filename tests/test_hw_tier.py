"""The hw tier without a board: it collects, and skips cleanly (what `make test` does here and in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.host

TESTS = Path(__file__).resolve().parent
HW_FILES = ["test_hw_board.py", "test_firmware_hw.py"]
RUN_TIMEOUT_S = 300


def _pytest(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "hw",
                           *(str(TESTS / f) for f in HW_FILES), *args],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=TESTS.parent, env=env)


def test_hw_tier_skips_cleanly_without_a_board():
    res = _pytest("-rs")
    assert res.returncode == 0, res.stdout + res.stderr
    tail = res.stdout.strip().splitlines()[-1]
    assert "skipped" in tail and "passed" not in tail and "failed" not in tail and "error" not in tail, tail
    assert "real-hardware test: give --board and --port" in res.stdout
    collected = _pytest("--collect-only")
    assert "test_model_bit_exact_with_latency[kws_ref_model]" in collected.stdout
    assert "test_the_stated_clock_is_the_real_clock" in collected.stdout


@pytest.mark.parametrize(("board", "message"), [("no-such-board", "unknown board"), ("qemu-m4", "is emulated")])
def test_hw_tier_refuses_a_board_it_cannot_flash(board, message):
    res = _pytest("--board", board, "--port", "/dev/null")
    assert res.returncode == 4 and message in res.stderr, res.stdout + res.stderr
