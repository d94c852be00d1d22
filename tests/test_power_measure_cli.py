"""`tinykit measure --power` end to end: DEVICE SIMULATOR (tests/sim_device.py) + monitor SIMULATORS.

The simulated DUT runs in energy mode: every `infer N 0` it answers also makes the simulated
monitor see the run (its current trace between two timestamp edges) before `m-infer-done` goes
out, the way a real DUT's timestamp GPIO reaches the real monitor. Nothing here is hardware.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sim_device import SimDevice, SimServer
from sim_lpm01a import LPM01ASimulator
from sim_ppk2 import PPK2Simulator

from tinykit.cli import main
from tinykit.models import reference_model

HELLO = reference_model("hello_world")
PER_INFERENCE = {"lpm01a": 30, "ppk2": 200}  # samples one simulated inference lasts
SIMULATORS = {"lpm01a": LPM01ASimulator, "ppk2": PPK2Simulator}


def _inference_trace(kind: str) -> list[float]:
    return [7000.0 + 3000.0 * (i % 5) / 4 for i in range(PER_INFERENCE[kind])]


class EnergyModeDevice(SimDevice):
    """The device simulator, with its timestamp pin wired to a monitor simulator."""

    def __init__(self, monitor, trace, garble_run: int | None = None, **kw) -> None:
        super().__init__(HELLO, **kw)
        self.monitor, self.trace, self.garble_run, self.energy_runs = monitor, trace, garble_run, 0

    def _infer(self, args: list[str]) -> list[str]:
        lines = super()._infer(args)
        n = int(args[0]) if args else 1
        if len(args) > 1 and args[1] == "0":  # energy mode: W = 0
            self.energy_runs += 1
            garble = 5 if self.energy_runs == self.garble_run else None
            self.monitor.inject_run(self.trace * n, garble_at=garble)
        return lines


def _measure(kind: str, monitor, device, out) -> object:
    with SimServer(device) as server:
        return CliRunner().invoke(main, [
            "measure", "--board", "qemu-m4", "--port", server.url, "--model", str(HELLO), "--count", "1",
            "--power", f"{kind}:{monitor.path}", "--json", "-o", str(out)])


@pytest.mark.parametrize("kind", ["lpm01a", "ppk2"])
def test_measure_power_reports_the_trace_energy(kind, tmp_path):
    trace = _inference_trace(kind)
    with SIMULATORS[kind]() as monitor:
        device = EnergyModeDevice(monitor, trace)
        res = _measure(kind, monitor, device, tmp_path / "results.json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    measured, estimate = data["energy_measured"], data["energy_estimate"]
    runs = len(monitor.runs_j)
    assert runs == measured["runs"] == device.energy_runs >= 1
    n = measured["inferences_per_run"]
    exact_uj = monitor.runs_j[0] / n * 1e6  # every run has the same trace
    # to the sampling resolution: 4 significant digits (LPM01A), half an ADC step a sample (PPK2)
    resolution = exact_uj * 5e-4 if kind == "lpm01a" else len(trace) * 0.5 * monitor.lsb_ua * 3.3 / 100_000
    assert abs(measured["energy_uj"] - exact_uj) <= resolution
    assert measured["label"] == "measured" and estimate["label"] == "estimate"
    assert measured["idle_power_mw"] is not None
    assert json.loads((tmp_path / "results.json").read_text()) == data


@pytest.mark.parametrize("kind", ["lpm01a", "ppk2"])
def test_monitor_fault_exits_2_without_results_file(kind, tmp_path):
    with SIMULATORS[kind]() as monitor:
        res = _measure(kind, monitor, EnergyModeDevice(monitor, _inference_trace(kind), garble_run=2),
                       tmp_path / "results.json")
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "garbled" in errors[0], res.output
    assert list(tmp_path.iterdir()) == []


def test_monitor_missing_exits_2(tmp_path):
    with SimServer(SimDevice(HELLO)) as server:
        res = CliRunner().invoke(main, [
            "measure", "--board", "qemu-m4", "--port", server.url, "--model", str(HELLO),
            "--power", "lpm01a:/dev/nonexistent-tty", "-o", str(tmp_path / "results.json")])
    assert res.exit_code == 2
    assert res.output.splitlines()[0].startswith("error: cannot open the LPM01A at /dev/nonexistent-tty")
    assert list(tmp_path.iterdir()) == []
