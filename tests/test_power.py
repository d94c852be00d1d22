"""tinykit.power core: monitor specs, window computation, summaries, the labelled estimate, `power check`."""

from __future__ import annotations

import json
import types

import pytest
from click.testing import CliRunner
from sim_lpm01a import LPM01ASimulator

from tinykit.cli import main
from tinykit.errors import BoardError, PowerMonitorError
from tinykit.power import (
    Acquisition,
    EnergyWindow,
    estimate_energy,
    measure_energy,
    open_monitor,
    parse_monitor_spec,
    summarise_windows,
)
from tinykit.power.base import idle_power_mw, windows_from_acquisition
from tinykit.power.lpm01a import LPM01A
from tinykit.power.ppk2 import PPK2


# -- specs ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "expected"),
    [("lpm01a:/dev/ttyACM1", ("lpm01a", "/dev/ttyACM1")), ("PPK2:auto", ("ppk2", "auto")),
     ("ppk2:/dev/ttyACM0", ("ppk2", "/dev/ttyACM0")), ("lpm01a:socket://h:1", ("lpm01a", "socket://h:1"))],
)
def test_spec_parsing(spec, expected):
    assert parse_monitor_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [("joulescope:/dev/x", "unknown power monitor kind 'joulescope'; known kinds: lpm01a, ppk2"),
     ("lpm01a", "is not KIND:PORT"), ("lpm01a:", "names no port"), (":/dev/x", "is not KIND:PORT"),
     ("lpm01a:auto", "lpm01a:auto is not supported")],
)
def test_bad_specs(spec, message):
    with pytest.raises(PowerMonitorError, match=message):
        open_monitor(spec)


def test_open_monitor_picks_the_driver():
    assert isinstance(open_monitor("lpm01a:/dev/x", 1800), LPM01A)
    assert isinstance(open_monitor("ppk2:auto"), PPK2)


# -- windows ----------------------------------------------------------------------------------
def test_windows_sum_exactly_the_samples_between_edges():
    energy = [1.0] * 10 + [5.0, 6.0, 7.0] + [1.0] * 10 + [2.0] * 4 + [1.0] * 3
    acq = Acquisition(energy, edges=[10, 13, 23, 27], sample_period_s=0.001)
    first, second = windows_from_acquisition(acq)
    assert first == EnergyWindow(energy_uj=18e6, duration_s=pytest.approx(0.003), avg_power_mw=6e6, samples=3)
    assert second.energy_uj == 8e6 and second.samples == 4
    # idle: the 1.0 samples outside windows and their guard bands -> 1 J per ms = 1000 W
    assert idle_power_mw(acq) == pytest.approx(1e6)


@pytest.mark.parametrize(
    ("edges", "message"),
    [([3, 5, 8], "gave 3 falling edges"), ([5, 3], "out of order"), ([4, 4], "within one sample period")],
)
def test_bad_edges(edges, message):
    with pytest.raises(PowerMonitorError, match=message):
        windows_from_acquisition(Acquisition([1.0] * 10, edges, 0.001))


def test_idle_power_none_when_all_samples_are_in_windows():
    assert idle_power_mw(Acquisition([1.0] * 4, [0, 4], 0.001)) is None


def test_summary_median_and_spread():
    windows = [EnergyWindow(e, 0.01, e / 10) for e in (100.0, 120.0, 90.0, 110.0, 300.0)]
    s = summarise_windows(windows, inferences_per_run=10, idle_power_mw=0.5, monitor="ppk2:x")
    assert (s.energy_uj, s.energy_uj_min, s.energy_uj_max) == (11.0, 9.0, 30.0)
    assert s.spread_pct == pytest.approx((30 - 9) / 11 * 100)
    assert s.avg_power_mw == 11.0 and s.idle_power_mw == 0.5 and s.runs == 5
    assert json.loads(json.dumps(s.to_dict()))["label"] == "measured"
    with pytest.raises(PowerMonitorError, match="no energy windows"):
        summarise_windows([])


class _FakeMonitor:
    kind, port, idle_power_mw = "fake", "x", 1.0

    def __init__(self, windows):
        self.windows, self.calls = windows, []

    def start(self):
        self.calls.append("start")

    def stop(self):
        self.calls.append("stop")
        return self.windows


def test_measure_energy_stops_and_reraises_when_the_host_fails():
    mon = _FakeMonitor([])

    def boom():
        raise RuntimeError("device gone")

    with pytest.raises(RuntimeError, match="device gone"):
        measure_energy(mon, boom, runs=2)
    assert mon.calls == ["start", "stop"]
    with pytest.raises(PowerMonitorError, match="runs must be at least 1"):
        measure_energy(mon, lambda: None, runs=0)


# -- estimate ---------------------------------------------------------------------------------
def _stand_in_board(**power):
    fields = {"active_current_ma": 13.2, "supply_voltage_v": 1.8, "sleep_current_ua": 2.8,
              "datasheet": "DS12023 (stand-in)"} | power
    return types.SimpleNamespace(id="stand-in", clock_hz=120_000_000, power=types.SimpleNamespace(**fields))


def test_estimate_is_labelled_and_cites_the_datasheet():
    est = estimate_energy(_stand_in_board(), 120_000_000 // 100, cycles_note="assumed")
    assert est.label == "estimate" and est.source == "DS12023 (stand-in)" and est.cycles_note == "assumed"
    assert est.latency_s == pytest.approx(0.01)
    assert est.power_mw == pytest.approx(13.2 * 1.8)
    assert est.energy_uj == pytest.approx(13.2 * 1.8 * 0.01 * 1000)
    assert est.to_dict()["label"] == "estimate"


def test_estimate_errors():
    with pytest.raises(BoardError, match="no power model"):
        estimate_energy(types.SimpleNamespace(id="b", clock_hz=1, power=None), 10)
    with pytest.raises(BoardError, match="datasheet missing"):
        estimate_energy(_stand_in_board(datasheet=""), 10)
    with pytest.raises(PowerMonitorError, match="for 0 cycles"):
        estimate_energy(_stand_in_board(), 0)


def test_estimate_on_the_real_board_file():
    boards = pytest.importorskip("tinykit.targets.boards")
    board = boards.load_board("nucleo-l4r5zi")
    est = estimate_energy(board, board.clock_hz)  # one second of run time
    assert est.energy_uj == pytest.approx(board.power.active_current_ma * board.power.supply_voltage_v * 1000)
    assert "DS12023" in est.source


# -- CLI --------------------------------------------------------------------------------------
def test_power_check_cli():
    with LPM01ASimulator() as sim:
        result = CliRunner().invoke(main, ["power", "check", f"lpm01a:{sim.path}", "--json"])
        assert result.exit_code == 0, result.output
        ident = json.loads(result.output)
        assert ident["kind"] == "lpm01a" and ident["status"] == "ok"
        assert sim.commands[-2:] == ["pwr off", "hrc"]
        table = CliRunner().invoke(main, ["power", "check", f"lpm01a:{sim.path}"])
        assert table.exit_code == 0 and "PowerShield present" in table.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["nope:/dev/x"], "error: unknown power monitor kind 'nope'"),
     (["lpm01a:"], "error: power monitor 'lpm01a:' names no port"),
     (["lpm01a:/dev/nonexistent-tty"], "error: cannot open the LPM01A at /dev/nonexistent-tty"),
     (["lpm01a:/dev/x", "--voltage-mv", "900"], "error: the LPM01A supplies 1800-3300 mV")],
)
def test_power_check_cli_errors(args, message):
    result = CliRunner().invoke(main, ["power", "check", *args])
    assert result.exit_code == 2
    assert result.output.splitlines()[0].startswith(message)
