"""`measure --power` with the real firmware on the emulated board and a power monitor SIMULATOR.

QEMU exposes no GPIO, so the firmware's timestamp pin cannot reach the simulated monitor; the
host's `infer N 0` is coupled to the simulator instead (``edges_after_infer``): the inferences run
on the emulated board, and the simulator sees each run's current trace between two edges.
"""

from __future__ import annotations

import shutil

import pytest
from power_helpers import edges_after_infer
from sim_lpm01a import LPM01ASimulator
from sim_ppk2 import PPK2Simulator

from tinykit.device import DeviceClient
from tinykit.models import reference_model

pytestmark = [
    pytest.mark.qemu,
    pytest.mark.skipif(not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")),
                       reason="needs qemu-system-arm and arm-none-eabi-gcc"),
]
HELLO = reference_model("hello_world")


@pytest.mark.parametrize(
    ("kind", "energy_mode"),
    [("lpm01a", False), ("ppk2", False), ("lpm01a", True)],
)
def test_measure_power_on_emulated_board(kind, energy_mode, tmp_path, monkeypatch):
    from tinykit import measure
    from tinykit.firmware.build import build_firmware
    from tinykit.flash import get_flasher
    from tinykit.targets.boards import load_board

    board = load_board("qemu-m4")
    build = build_firmware(HELLO, board, tmp_path / "build", energy_mode=energy_mode)
    per_inference = [9000.0] * (30 if kind == "lpm01a" else 200)
    with (LPM01ASimulator if kind == "lpm01a" else PPK2Simulator)() as sim:
        monkeypatch.setattr(DeviceClient, "infer",
                            edges_after_infer(DeviceClient.infer, sim, lambda n: per_inference * n))
        with get_flasher(board).flash(build.dir) as link:
            result = measure.measure(measure.MeasureRequest(
                url=link.url, board=board, model_path=HELLO, num_inputs=1, power=f"{kind}:{sim.path}"))
        exact_uj = sim.runs_j[0] / measure.POWER_INFERENCES_PER_RUN * 1e6
    measured = result["energy_measured"]
    assert result["mismatched_bytes"] == 0
    assert measured["runs"] == measure.POWER_RUNS == len(sim.runs_j)
    resolution = exact_uj * 5e-4 if kind == "lpm01a" else len(per_inference) * 0.5 * sim.lsb_ua * 3.3 / 100_000
    assert abs(measured["energy_uj"] - exact_uj) <= resolution
    assert result["energy_estimate"]["label"] == "estimate"
