"""Hardware-in-the-loop tests of one model, to copy into your repository (see docs/hil.md).

Put your model next to this file as model.tflite and your test inputs in data/test/<class>/*.npy
(int8 arrays shaped like the model's input, one class folder per output class, optional labels.txt
giving the class order), set the budgets below, then:

    pytest test_model_on_board.py --tinykit-board qemu-m4 --junitxml=hil.xml
    pytest test_model_on_board.py --tinykit-board nucleo-l4r5zi --tinykit-port /dev/ttyACM0
    pytest test_model_on_board.py --tinykit-board nucleo-l4r5zi --tinykit-place lab-l4-1   # labgrid

Every figure (instructions or cycles per inference, flash, RAM, stack, accuracy, mismatched bytes,
firmware hash) lands in the JUnit XML as a `tinykit.*` property of its test case.
"""

from pathlib import Path

import pytest

HERE = Path(__file__).parent
MODEL = HERE / "model.tflite"
DATASET = HERE / "data" / "test"
# Budgets per board: emulated boards count instructions, real boards cycles (or µs).
MAX_INSTRUCTIONS = {"qemu-m4": 8_000_000, "qemu-m3": 40_000_000}
MAX_FLASH_BYTES = 256_000
MAX_RAM_BYTES = 96_000
MIN_ACCURACY = 0.80


@pytest.fixture(scope="session")
def tinykit_model() -> Path:
    return MODEL


def test_outputs_are_bit_exact(tinykit_device):
    """Every output byte on the board equals TensorFlow Lite Micro's reference kernels'."""
    tinykit_device.assert_bit_exact(count=5)


def test_one_inference(tinykit_device):
    data = tinykit_device.random_inputs(1)[0]  # or your own bytes: tinykit_device.input_bytes long
    result = tinykit_device.infer(data)
    assert result.outputs == tinykit_device.reference(data)
    assert result.count > 0


def test_latency_budget(tinykit_device):
    limit = MAX_INSTRUCTIONS.get(tinykit_device.board)
    if limit is None:
        pytest.skip(f"no latency budget for {tinykit_device.board}")
    tinykit_device.assert_latency(max_instructions=limit)


def test_memory_budget(tinykit_device):
    tinykit_device.assert_memory(max_flash_bytes=MAX_FLASH_BYTES, max_ram_bytes=MAX_RAM_BYTES)


@pytest.mark.skipif(not DATASET.is_dir(), reason=f"no dataset folder {DATASET}")
def test_accuracy_floor(tinykit_device):
    tinykit_device.assert_accuracy(DATASET, min_accuracy=MIN_ACCURACY)
