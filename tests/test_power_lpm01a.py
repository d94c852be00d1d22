"""LPM01A driver against the LPM01A protocol SIMULATOR (tests/sim_lpm01a.py): no hardware here."""

from __future__ import annotations

import math
import os
import time

import pytest
from sim_lpm01a import LPM01ASimulator, format_sample

from tinykit.errors import PowerMonitorError
from tinykit.power import lpm01a, measure_energy, open_monitor
from tinykit.power.lpm01a import parse_sample

MLPERF_SETUP = ["htc", "pwr off", "acqtime inf", "trigdelay 0", "trigsrc sw", "eventsrc d7 fal",
                "output energy", "format ascii_dec", "freq 1k", "volt 3300m", "pwr on nostatus"]


def _trace(n: int, base_ua: float, seed: int) -> list[float]:
    """A deterministic, wiggly inference current trace (µA)."""
    return [base_ua * (1.0 + 0.3 * math.sin(0.37 * i + seed)) + 17.0 * ((i * 7919 + seed) % 13) for i in range(n)]


def _tolerance_j(run_j: float, sample_j: float) -> float:
    # ASCII samples carry 4 significant digits: each is within 0.05 % of the true value.
    return run_j * 5e-4 + sample_j * 1e-9


@pytest.fixture
def sim():
    with LPM01ASimulator() as device:
        yield device


def test_sample_format_round_trip():
    assert parse_sample("6409-07") == pytest.approx(640.9e-6)
    assert parse_sample("1221+02") == pytest.approx(122100.0)
    assert parse_sample("64#9-07") is None and parse_sample("6409-0") is None
    for value in (1.234567e-6, 9.99996e-5, 3.3e-3, 5e-9):
        assert parse_sample(format_sample(value)) == pytest.approx(value, rel=5e-4)


def test_configures_like_the_mlperf_runner_and_reports_windows(sim):
    runs = [_trace(120, 9000.0, 1), _trace(95, 11000.0, 2), _trace(140, 8000.0, 3)]
    with open_monitor(f"lpm01a:{sim.path}", voltage_mv=3300) as mon:
        assert sim.commands == MLPERF_SETUP
        mon.start()
        expected = [sim.inject_run(run) for run in runs]
        windows = mon.stop()
    assert sim.commands[-3:] == ["stop", "pwr off", "hrc"]
    assert len(windows) == len(runs)
    for window, run, exact_j in zip(windows, runs, expected, strict=True):
        assert window.samples == len(run)
        assert window.duration_s == pytest.approx(len(run) / 1000)
        assert abs(window.energy_uj * 1e-6 - exact_j) <= _tolerance_j(exact_j, 0)
        assert window.avg_power_mw == pytest.approx(exact_j / (len(run) / 1000) * 1e3, rel=1e-3)
    assert mon.idle_power_mw == pytest.approx(350e-6 * 3.3 * 1e3, rel=1e-3)


def test_measure_energy_in_step_with_host_inferences(sim):
    """The host's run_inferences callback makes the simulated DUT raise its edges in step."""
    traces = iter([_trace(200, 10000.0, s) for s in range(4)])
    with open_monitor(f"lpm01a:{sim.path}", voltage_mv=1800) as mon:
        summary = measure_energy(mon, lambda: sim.inject_run(next(traces)), runs=4, inferences_per_run=2)
    assert sim.config["volt_mv"] == 1800
    per_inference = sorted(j / 2 * 1e6 for j in sim.runs_j)
    assert summary.runs == 4 and summary.inferences_per_run == 2
    assert summary.energy_uj == pytest.approx((per_inference[1] + per_inference[2]) / 2, rel=5e-4)
    assert summary.energy_uj_min == pytest.approx(per_inference[0], rel=5e-4)
    assert summary.energy_uj_max == pytest.approx(per_inference[-1], rel=5e-4)
    assert summary.idle_power_mw == pytest.approx(350e-6 * 1.8 * 1e3, rel=1e-3)
    assert summary.label == "measured" and summary.monitor == f"lpm01a:{sim.path}"


def test_garbled_sample_fails_the_acquisition(sim):
    with open_monitor(f"lpm01a:{sim.path}") as mon:
        mon.start()
        sim.inject_run(_trace(50, 9000.0, 0), garble_at=10)
        with pytest.raises(PowerMonitorError, match="garbled line"):
            mon.stop()
        assert mon.last_acquisition is None


def test_buffer_overrun_reported(sim):
    with open_monitor(f"lpm01a:{sim.path}") as mon:
        mon.start()
        sim.inject_run(_trace(50, 9000.0, 0))
        sim.emit_timestamp(buff=97)
        with pytest.raises(PowerMonitorError, match=r"buffer reached 97% \(overrun\)"):
            mon.stop()


def test_error_line_during_acquisition_reported(sim):
    with open_monitor(f"lpm01a:{sim.path}") as mon:
        mon.start()
        sim.emit_error("acquisition buffer overflow")
        with pytest.raises(PowerMonitorError, match=r"error during the acquisition.*overflow"):
            mon.stop()


def test_dropped_samples_detected_from_timestamps(sim):
    with open_monitor(f"lpm01a:{sim.path}") as mon:
        mon.start()
        sim.emit_timestamp()
        sim.inject_run(_trace(50, 9000.0, 0))
        sim.drop_samples(40)
        sim.emit_timestamp()
        with pytest.raises(PowerMonitorError, match="samples were dropped"):
            mon.stop()


def test_disconnect_during_acquisition(sim):
    with open_monitor(f"lpm01a:{sim.path}") as mon:
        mon.start()
        sim.inject_run(_trace(50, 9000.0, 0))
        sim.disconnect()
        with pytest.raises(PowerMonitorError, match="disconnected"):
            mon.stop()


def test_silent_stream_is_reported(monkeypatch):
    """A port that stays open but sends nothing (read returns nothing) is a lost device."""
    monkeypatch.setattr(lpm01a, "DATA_TIMEOUT_S", 0.2)
    with LPM01ASimulator(idle_rate_hz=0) as quiet, open_monitor(f"lpm01a:{quiet.path}") as mon:
        mon.start()
        quiet.inject_run(_trace(50, 9000.0, 0))
        time.sleep(0.3)
        with pytest.raises(PowerMonitorError, match="sent no data for"):
            mon.stop()


def test_odd_edge_count_is_an_incomplete_window(sim):
    with open_monitor(f"lpm01a:{sim.path}") as mon:
        mon.start()
        sim.inject_run(_trace(50, 9000.0, 0))
        sim.inject_edge()
        with pytest.raises(PowerMonitorError, match="3 falling edges"):
            mon.stop()


def test_measure_energy_edge_count_mismatch(sim):
    with open_monitor(f"lpm01a:{sim.path}") as mon, pytest.raises(PowerMonitorError, match="3 runs gave 0"):
        measure_energy(mon, lambda: time.sleep(0.02), runs=3)


def test_device_error_reply_carries_detail():
    with LPM01ASimulator(reject={"freq 1k": "sampling frequency not available"}) as sim:
        with pytest.raises(PowerMonitorError, match="rejected `freq 1k`: sampling frequency not available"), \
                open_monitor(f"lpm01a:{sim.path}"):
            pass
        assert sim.commands[-2:] == ["pwr off", "hrc"]  # released even though configure failed


def test_identity(sim):
    with open_monitor(f"lpm01a:{sim.path}") as mon:
        ident = mon.identity()
    assert ident["board"].startswith("PowerShield present")
    assert ident["version"] == "1.0.6-sim" and ident["status"] == "ok"


def test_voltage_out_of_range():
    with pytest.raises(PowerMonitorError, match="1800-3300 mV; 5000 mV"):
        open_monitor("lpm01a:/dev/null", voltage_mv=5000)


def test_silent_port_times_out(monkeypatch):
    monkeypatch.setattr(lpm01a, "COMMAND_TIMEOUT_S", 0.1)
    master, slave = os.openpty()
    try:
        with pytest.raises(PowerMonitorError, match="did not answer `htc`"), \
                open_monitor(f"lpm01a:{os.ttyname(slave)}"):
            pass
    finally:
        os.close(master)
        os.close(slave)


def test_missing_port():
    with pytest.raises(PowerMonitorError, match="cannot open the LPM01A at /dev/nonexistent-tty"), \
            open_monitor("lpm01a:/dev/nonexistent-tty"):
        pass
