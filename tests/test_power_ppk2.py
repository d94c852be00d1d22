"""PPK2 driver (through the real ppk2-api code) against the PPK2 protocol SIMULATOR (tests/sim_ppk2.py)."""

from __future__ import annotations

import math
import time
import types

import pytest
import serial.tools.list_ports
from sim_ppk2 import PPK2Simulator

from tinykit.errors import PowerMonitorError
from tinykit.power import measure_energy, open_monitor, ppk2
from tinykit.power.ppk2 import SAMPLE_RATE_HZ


def _trace(n: int, base_ua: float, seed: int) -> list[float]:
    return [base_ua * (1.0 + 0.25 * math.sin(0.11 * i + seed)) + 31.0 * ((i * 7919 + seed) % 11) for i in range(n)]


@pytest.fixture
def sim():
    with PPK2Simulator() as device:
        yield device


def _resolution_j(sim: PPK2Simulator, samples: int) -> float:
    # Each word is within half an ADC step of the DUT's current.
    return samples * 0.5 * sim.lsb_ua * 1e-6 * sim.voltage_mv / 1000 / SAMPLE_RATE_HZ


def test_source_meter_setup_and_exact_windows(sim):
    runs = [_trace(800, 9500.0, 1), _trace(650, 12000.0, 2), _trace(1000, 7000.0, 3)]
    with open_monitor(f"ppk2:{sim.path}", voltage_mv=3000) as mon:
        sim.sync()
        assert sim.mode == 2 and sim.voltage_mv == 3000 and sim.dut_power
        mon.start()
        expected = [sim.inject_run(run) for run in runs]
        windows = mon.stop()
        ident = mon.identity()
    sim.sync()
    assert not sim.dut_power and not sim.protocol_errors
    assert ident["hardware"] == "2374922381" and ident["timestamp_channel"] == "D0"
    assert len(windows) == 3
    for window, run, exact_j in zip(windows, runs, expected, strict=True):
        assert window.samples == len(run)
        assert window.duration_s == pytest.approx(len(run) / SAMPLE_RATE_HZ)
        assert abs(window.energy_uj * 1e-6 - exact_j) <= _resolution_j(sim, len(run))
    idle_mw = 420e-6 * 3.0 * 1e3
    assert mon.idle_power_mw == pytest.approx(idle_mw, abs=sim.lsb_ua * 1e-6 * 3.0 * 1e3)


def test_measure_energy_in_step(sim):
    traces = iter([_trace(500, 10000.0, s) for s in range(3)])
    with open_monitor(f"ppk2:{sim.path}") as mon:
        summary = measure_energy(mon, lambda: sim.inject_run(next(traces), pulse_words=3), runs=3)
    exact_uj = sorted(j * 1e6 for j in sim.runs_j)
    tolerance_uj = _resolution_j(sim, 500) * 1e6
    assert abs(summary.energy_uj - exact_uj[1]) <= tolerance_uj
    assert abs(summary.energy_uj_max - exact_uj[2]) <= tolerance_uj
    assert summary.monitor == f"ppk2:{sim.path}"


def test_timestamp_on_another_channel():
    with PPK2Simulator(channel=5) as sim:
        from tinykit.power.ppk2 import PPK2

        with PPK2(sim.path, 3300, timestamp_channel=5) as mon:
            mon.start()
            exact = sim.inject_run(_trace(300, 5000.0, 0))
            (window,) = mon.stop()
        assert abs(window.energy_uj * 1e-6 - exact) <= _resolution_j(sim, 300)


def test_garbled_word_fails_the_acquisition(sim):
    with open_monitor(f"ppk2:{sim.path}") as mon:
        mon.start()
        sim.inject_run(_trace(300, 9000.0, 0), garble_at=100)
        with pytest.raises(PowerMonitorError, match="garbled samples from the PPK2: 1 of"):
            mon.stop()
        assert mon.last_acquisition is None


def test_lost_byte_fails_the_acquisition(sim):
    with open_monitor(f"ppk2:{sim.path}") as mon:
        mon.start()
        sim.inject_run(_trace(300, 9000.0, 0))
        sim.lose_byte()
        with pytest.raises(PowerMonitorError, match=r"garbled samples|ended mid-sample"):
            mon.stop()


def test_disconnect_during_acquisition(sim):
    with open_monitor(f"ppk2:{sim.path}") as mon:
        mon.start()
        sim.inject_run(_trace(300, 9000.0, 0))
        sim.disconnect()
        with pytest.raises(PowerMonitorError, match="disconnected during the acquisition"):
            mon.stop()


def test_silent_stream_is_reported(monkeypatch):
    monkeypatch.setattr(ppk2, "DATA_TIMEOUT_S", 0.2)
    with PPK2Simulator(idle_rate_hz=0) as quiet, open_monitor(f"ppk2:{quiet.path}") as mon:
        mon.start()
        quiet.inject_run(_trace(300, 9000.0, 0))
        time.sleep(0.4)
        with pytest.raises(PowerMonitorError, match=r"sent no data for 0\.2 s while measuring"):
            mon.stop()


def test_not_a_ppk2():
    with PPK2Simulator(answer_metadata=False) as sim, \
            pytest.raises(PowerMonitorError, match="did not send PPK2 calibration metadata"), \
            open_monitor(f"ppk2:{sim.path}"):
        pass


def _fake_ports(monkeypatch, ports):
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda: ports)


def test_auto_finds_the_ppk2_by_product_string(sim, monkeypatch):
    ports = [types.SimpleNamespace(device="/dev/ttyS0", product=None, description="n/a"),
             types.SimpleNamespace(device=sim.path, product="PPK2", description="nRF Connect USB CDC ACM")]
    _fake_ports(monkeypatch, ports)
    with open_monitor("ppk2:auto") as mon:
        assert mon.port == sim.path
        assert mon.identity()["port"] == sim.path


def test_auto_without_device(monkeypatch):
    _fake_ports(monkeypatch, [])
    looked_for = "no PPK2 found: looked for a serial port whose USB product string is 'PPK2'"
    with pytest.raises(PowerMonitorError, match=looked_for), open_monitor("ppk2:auto"):
        pass


def test_auto_with_two_devices(monkeypatch):
    ports = [types.SimpleNamespace(device=f"/dev/ttyACM{i}", product="PPK2", description="") for i in range(2)]
    _fake_ports(monkeypatch, ports)
    with pytest.raises(PowerMonitorError, match="2 PPK2s found"), open_monitor("ppk2:auto"):
        pass


def test_voltage_and_channel_checked():
    with pytest.raises(PowerMonitorError, match="800-5000 mV; 6000 mV"):
        open_monitor("ppk2:auto", voltage_mv=6000)
    from tinykit.power.ppk2 import PPK2

    with pytest.raises(PowerMonitorError, match="D9 does not exist"):
        PPK2("auto", 3300, timestamp_channel=9)
