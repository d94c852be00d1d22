"""The shared reference models on qemu-m7 and qemu-m55 (see test_firmware_models.py)."""

from __future__ import annotations

import pytest
from test_firmware import run_model_on_board
from test_firmware_models import INPUTS, MODELS

from tinykit.models import reference_model

pytestmark = [pytest.mark.qemu, pytest.mark.slow]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("board", ["qemu-m7", "qemu-m55"])
def test_shared_model_bit_exact(board, model, tmp_path):
    mismatched, instructions = run_model_on_board(reference_model(model), board, tmp_path, INPUTS)
    assert mismatched == 0
    assert instructions > 0
