"""labgrid end to end on this machine: a labgrid-coordinator and a labgrid-exporter started here on
127.0.0.1, the exporter publishing a real ser2net RFC 2217 port of a QEMU board's pseudo-terminal as
a NetworkSerialPort. `tinykit measure/run/check --place` acquire the place, talk to the board through
it and release it, also on failure and on Ctrl-C; the three ways a place cannot be used are one
clear error each (exit 2)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hil_helpers import SERVICE_START_S, labgrid_client, labgrid_farm, ser2net

from tinykit.cli import main
from tinykit.firmware.build import build_firmware
from tinykit.flash.qemu import QemuFlasher
from tinykit.models import reference_model
from tinykit.targets.boards import load_board

pytestmark = pytest.mark.qemu
slow = pytest.mark.slow  # a coordinator, an exporter, ser2net and QEMU per module: the slow tier

BOARD = "qemu-m4"
MODEL = "hello_world"
PLACE = "desk-m4"
EMPTY_PLACE = "bare"  # a place with no resources: no serial port
INPUTS = 4
# A measurement long enough to be interrupted in the middle.
LONG_COUNT = 400
INTERRUPT_WAIT_S = 120.0


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """(coordinator, build dir): the QEMU board behind ser2net behind a labgrid exporter and place."""
    work = tmp_path_factory.mktemp("farm")
    build = build_firmware(reference_model(MODEL), BOARD, work / "fw").dir
    with QemuFlasher(load_board(BOARD), serial="pty").flash(build) as link, ser2net(link.url, work) as url, \
            labgrid_farm(url, work, {PLACE: f"board={BOARD}", EMPTY_PLACE: ""}) as coordinator:
        yield coordinator, build


def who(coordinator: str) -> str:
    """The acquired places, as `labgrid-client who` lists them (asked in-process: no interpreter start-up)."""
    from tinykit.hil.farm import _Session

    session = _Session(coordinator, PLACE)
    try:
        return " ".join(f"{name}:{p.acquired}" for name, p in session.session.places.items() if p.acquired)
    finally:
        session.close()


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


@slow
def test_measure_through_a_place_equals_tcp_and_releases_it(farm):
    coordinator, build = farm
    res = cli("measure", "--board", BOARD, "--place", PLACE, "--coordinator", coordinator, "--model", MODEL,
              "--count", str(INPUTS), "--json")
    assert res.exit_code == 0, res.output
    via_place = json.loads(res.stdout)
    assert via_place["mismatched_bytes"] == 0 and via_place["place"] == PLACE
    assert via_place["device"]["url"].startswith("rfc2217://127.0.0.1:")
    assert PLACE not in who(coordinator)  # released
    with QemuFlasher(load_board(BOARD)).flash(build) as link:
        res = cli("measure", "--board", BOARD, "--port", link.url, "--model", MODEL, "--count", str(INPUTS),
                  "--json")
    over_tcp = json.loads(res.stdout)
    assert via_place["latency"] == over_tcp["latency"]
    assert [x["cycles"] for x in via_place["layers"]] == [x["cycles"] for x in over_tcp["layers"]]


@slow
def test_check_and_run_on_a_place(farm, tmp_path, monkeypatch):
    coordinator, _ = farm
    monkeypatch.setenv("LG_COORDINATOR", coordinator)
    monkeypatch.setenv("TINYKIT_CACHE", str(tmp_path / "cache"))
    spec = tmp_path / "budget.yaml"
    spec.write_text(yaml.safe_dump({"checks": [{"model": str(reference_model(MODEL)), "boards": [BOARD],
                                                "inputs": 2, "budget": {"max_instructions": 10**6}}]}))
    res = cli("check", str(spec), "--place", f"{BOARD}={PLACE}", "--json")
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)["results"][0]
    assert row["place"] == PLACE and row["figures"]["mismatched_bytes"] == 0
    res = cli("run", MODEL, "--place", PLACE, "-o", str(tmp_path / "run"), "--count", "2", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["place"] == PLACE
    assert PLACE not in who(coordinator)


@slow
def test_place_is_released_after_a_failure(farm):
    coordinator, _ = farm
    res = cli("measure", "--board", BOARD, "--place", PLACE, "--coordinator", coordinator, "--model", "kws")
    assert res.exit_code == 2
    assert "runs model" in res.stderr and "Traceback" not in res.output
    assert PLACE not in who(coordinator)


@slow
def test_place_taken_by_someone_else(farm):
    coordinator, _ = farm
    assert labgrid_client(coordinator, "-p", PLACE, "acquire", user="alice").returncode == 0
    try:
        res = cli("measure", "--board", BOARD, "--place", PLACE, "--coordinator", coordinator)
        assert res.exit_code == 2
        assert f"Place {PLACE} is already acquired by" in res.stderr and "/alice" in res.stderr
    finally:
        assert labgrid_client(coordinator, "-p", PLACE, "release", user="alice").returncode == 0


@slow
def test_place_without_a_serial_port(farm):
    coordinator, _ = farm
    res = cli("measure", "--board", BOARD, "--place", EMPTY_PLACE, "--coordinator", coordinator)
    assert res.exit_code == 2
    assert f"place {EMPTY_PLACE} has no serial port" in res.stderr
    assert EMPTY_PLACE not in who(coordinator)


def test_unreachable_coordinator(tmp_path):
    from hil_helpers import free_port

    res = cli("measure", "--board", BOARD, "--place", PLACE, "--coordinator", f"127.0.0.1:{free_port()}")
    assert res.exit_code == 2
    assert "cannot reach the labgrid coordinator at 127.0.0.1:" in res.stderr
    assert len([line for line in res.stderr.splitlines() if line.startswith("error:")]) == 1


@slow
def test_ctrl_c_releases_the_place(farm):
    coordinator, _ = farm
    proc = subprocess.Popen([sys.executable, "-m", "tinykit", "measure", "--board", BOARD, "--place", PLACE,
                             "--coordinator", coordinator, "--model", MODEL, "--count", str(LONG_COUNT)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + INTERRUPT_WAIT_S
        while PLACE not in who(coordinator):
            assert proc.poll() is None and time.monotonic() < end, proc.communicate()
            time.sleep(0.5)
        time.sleep(2.0)  # into the measurement
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=SERVICE_START_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "error: interrupted" in err
    assert PLACE not in who(coordinator)


def test_labgrid_left_one_working_serial_module():
    """labgrid asks for its pyserial fork; tinykit keeps upstream pyserial as the one `serial` module."""
    import importlib.metadata as md

    import serial
    import serial.rfc2217

    assert Path(serial.__file__).parent.name == "serial"
    owners = [d.metadata["Name"] for d in md.distributions() if d.read_text("top_level.txt") and
              "serial" in d.read_text("top_level.txt").split()]
    assert owners == ["pyserial"], owners
    assert serial.__version__ == md.version("pyserial")
    assert hasattr(serial.rfc2217, "Serial") and serial.serial_for_url("loop://", timeout=0).is_open


@slow
def test_pytest_plugin_on_a_place(farm, tmp_path, tmp_path_factory):
    """The user's example tests on the farm's board: --tinykit-place acquires it for the session."""
    from test_hil_plugin import junit_properties, run_pytest, user_repo

    coordinator, _ = farm
    root = user_repo(tmp_path, MODEL)
    proc = run_pytest(root, "--tinykit-board", BOARD, "--tinykit-place", PLACE, "--tinykit-coordinator",
                      coordinator, "-k", "bit_exact or memory", cache=tmp_path_factory.getbasetemp() / "hil-cache")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    props = junit_properties(root / "hil.xml")[f"test_outputs_are_bit_exact[{BOARD}@{PLACE}]"]
    assert props["tinykit.board"] == f"{BOARD}@{PLACE}" and props["tinykit.mismatched_bytes"] == "0"
    assert PLACE not in who(coordinator)
