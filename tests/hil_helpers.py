"""Helpers for the hardware-in-the-loop tests: real ser2net exporting a QEMU board's pseudo-terminal.

Every service binds 127.0.0.1 on a free port and is stopped by the context manager that started it.
Timeouts are named here and generous: the machine running the suite is shared and loaded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tinykit.flash.qemu import stop_pid

# Seconds a service started by a test has to accept connections.
SERVICE_START_S = 30.0
# Tries with a fresh free port when another process took the one chosen.
PORT_ATTEMPTS = 3
SER2NET_CANDIDATES = ("ser2net", "/usr/sbin/ser2net")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ser2net_binary() -> str:
    """ser2net's path (Debian installs it in /usr/sbin, which a user's PATH may lack)."""
    for name in SER2NET_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("ser2net is not installed (Makefile APT_PACKAGES installs it)")


def wait_listening(port: int, proc: subprocess.Popen, what: str, timeout: float = SERVICE_START_S) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} is not listening on 127.0.0.1:{port} after {timeout:.0f} s")


def ser2net_config(device: str, port: int, baud: int) -> str:
    """One ser2net 4.x connection: RFC 2217 on 127.0.0.1:port for the serial device."""
    return (f"%YAML 1.1\n---\nconnection: &tinykit\n  accepter: telnet(rfc2217),tcp,127.0.0.1,{port}\n"
            f"  connector: serialdev,{device},{baud}n81,local\n  options:\n    kickolduser: true\n")


@contextlib.contextmanager
def ser2net(device: str, workdir: Path, baud: int = 115200) -> Iterator[str]:
    """A real ser2net exporting ``device`` as RFC 2217; yields ``rfc2217://127.0.0.1:PORT``."""
    binary = ser2net_binary()
    last: Exception | None = None
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        config = workdir / f"ser2net-{port}.yaml"
        config.write_text(ser2net_config(device, port, baud))
        log = open(workdir / f"ser2net-{port}.log", "w")  # noqa: SIM115 (closed below)
        # -n: stay in the foreground, -d: log to stderr; no pid file, no system config.
        proc = subprocess.Popen([binary, "-n", "-d", "-c", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_listening(port, proc, "ser2net")
        except (RuntimeError, TimeoutError) as err:
            last = err
            stop_pid(proc.pid)
            log.close()
            continue
        try:
            yield f"rfc2217://127.0.0.1:{port}"
        finally:
            stop_pid(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(SERVICE_START_S)
            log.close()
        return
    raise AssertionError(f"ser2net did not start after {PORT_ATTEMPTS} attempts: {last} (logs: {workdir})")


# -- a labgrid farm on localhost -------------------------------------------------------------------
EXPORTER_NAME = "tinykit-test"
RESOURCE_GROUP = "board"
LABGRID_POLL_S = 0.5


def labgrid_tool(name: str) -> str:
    """labgrid's programs live next to the interpreter running the tests (the venv's bin/)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise AssertionError(f"{name} is not installed (make test installs labgrid, the farm extra)")
    return str(path)


def labgrid_client(coordinator: str, *args: str, user: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **({"LG_USERNAME": user} if user else {})}
    env.pop("LG_COORDINATOR", None)
    return subprocess.run([labgrid_tool("labgrid-client"), "-x", coordinator, *args], capture_output=True,
                          text=True, env=env, timeout=SERVICE_START_S)


def _start(cmd: list[str], workdir: Path, name: str) -> subprocess.Popen:
    log = open(workdir / f"{name}.log", "w")  # noqa: SIM115 (the process owns it until it exits)
    return subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def _wait_for(predicate, what: str, timeout: float = SERVICE_START_S) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(LABGRID_POLL_S)
    raise TimeoutError(f"{what} after {timeout:.0f} s")


@contextlib.contextmanager
def labgrid_farm(serial_url: str, workdir: Path, places: dict[str, str]) -> Iterator[str]:
    """A labgrid-coordinator and a labgrid-exporter on 127.0.0.1 publishing ``serial_url`` (a ser2net
    rfc2217:// port) as a NetworkSerialPort; ``places`` maps place name -> tags ("" = no serial match,
    a place without a serial port). Yields the coordinator's HOST:PORT."""
    host, port = serial_url.removeprefix("rfc2217://").split(":")
    coordinator = f"127.0.0.1:{free_port()}"
    (workdir / "exporter.yaml").write_text(
        f"{RESOURCE_GROUP}:\n  NetworkSerialPort:\n    host: {host}\n    port: {port}\n    speed: 115200\n")
    procs = [_start([labgrid_tool("labgrid-coordinator"), "-l", coordinator], workdir, "coordinator")]
    try:
        wait_listening(int(coordinator.split(":")[1]), procs[0], "labgrid-coordinator")
        procs.append(_start([labgrid_tool("labgrid-exporter"), "-c", coordinator, "-n", EXPORTER_NAME,
                             "--hostname", "127.0.0.1", "exporter.yaml"], workdir, "exporter"))
        match = f"{EXPORTER_NAME}/{RESOURCE_GROUP}/NetworkSerialPort"
        _wait_for(lambda: match in labgrid_client(coordinator, "resources").stdout, "no exporter resource")
        for name, tags in places.items():
            assert labgrid_client(coordinator, "-p", name, "create").returncode == 0
            if tags:
                assert labgrid_client(coordinator, "-p", name, "add-match", match).returncode == 0
                assert labgrid_client(coordinator, "-p", name, "set-tags", *tags.split()).returncode == 0
        yield coordinator
    finally:
        for proc in reversed(procs):
            stop_pid(proc.pid)
