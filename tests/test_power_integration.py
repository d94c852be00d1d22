"""measure_energy end to end against both monitor SIMULATORS, with the host driving a (fake) DUT.

The DUT here is a stand-in for the emulated board: its ``infer(n, 0)`` "runs" n inferences and the
simulator, coupled through ``edges_after_infer``, sees the run's current trace between two
timestamp edges. The lead wires the same coupling into `tinykit measure --power` with QEMU.
"""

from __future__ import annotations

import pytest
from power_helpers import edges_after_infer
from sim_lpm01a import LPM01ASimulator
from sim_ppk2 import PPK2Simulator

from tinykit.power import measure_energy, open_monitor

PER_INFERENCE = {"lpm01a": 40, "ppk2": 300}  # samples one inference lasts at each monitor's rate


class FakeDut:
    """Answers `infer N W` like the device client; counts what it was asked to run."""

    def __init__(self) -> None:
        self.inferences = 0

    def infer(self, n: int = 1, warmup: int = 10) -> dict:
        self.inferences += n + warmup
        return {"results": [0.0]}


def _per_inference_trace(kind: str) -> list[float]:
    n = PER_INFERENCE[kind]
    return [8000.0 + 2500.0 * (i % 7) / 6 for i in range(n)]


@pytest.mark.parametrize("kind", ["lpm01a", "ppk2"])
def test_energy_per_inference_equals_the_trace(kind, monkeypatch):
    sim_class = LPM01ASimulator if kind == "lpm01a" else PPK2Simulator
    trace = _per_inference_trace(kind)
    with sim_class() as sim:
        monkeypatch.setattr(FakeDut, "infer", edges_after_infer(FakeDut.infer, sim, lambda n: trace * n))
        dut = FakeDut()
        with open_monitor(f"{kind}:{sim.path}", voltage_mv=1800) as mon:
            dut.infer(1, 10)  # a performance-mode call: no edges
            summary = measure_energy(mon, lambda: dut.infer(5, 0), runs=3, inferences_per_run=5)
        exact_uj = sim.runs_j[0] / 5 * 1e6
    assert dut.inferences == 11 + 15
    assert len(sim.runs_j) == 3 and len(set(sim.runs_j)) == 1
    # to the sampling resolution: 4 significant digits (LPM01A), half an ADC step per sample (PPK2)
    tolerance = exact_uj * 5e-4 if kind == "lpm01a" else len(trace) * 0.5 * sim.lsb_ua * 1.8 / 100_000
    assert abs(summary.energy_uj - exact_uj) <= tolerance
    assert summary.spread_pct <= 0.1
    assert summary.avg_power_mw == pytest.approx(sum(trace) / len(trace) * 1e-3 * 1.8, rel=1e-3)
    assert summary.idle_power_mw is not None and summary.idle_power_mw < summary.avg_power_mw


def test_host_measure_power_path(monkeypatch):
    """tinykit.measure's --power step (HOST's code) against the LPM01A simulator, if it is in the tree."""
    measure = pytest.importorskip("tinykit.measure")
    if not hasattr(measure, "_measure_power"):
        pytest.skip("tinykit.measure has no _measure_power")
    trace = _per_inference_trace("lpm01a")
    with LPM01ASimulator() as sim:
        monkeypatch.setattr(FakeDut, "infer", edges_after_infer(FakeDut.infer, sim, lambda n: trace * n))
        with open_monitor(f"lpm01a:{sim.path}") as mon:
            result = measure._measure_power(mon, FakeDut())
        exact_uj = sim.runs_j[0] / measure.POWER_INFERENCES_PER_RUN * 1e6
    assert result["label"] == "measured" and result["runs"] == measure.POWER_RUNS
    assert abs(result["energy_uj"] - exact_uj) <= exact_uj * 5e-4
