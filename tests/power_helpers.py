"""Shared plumbing of the power monitor SIMULATORS (tests only): a device on a pseudo-terminal.

A simulator owns the master side of a pty and runs its protocol on its own thread; the driver
under test opens the slave path (``sim.path``) like any serial port. Tests act on the simulated
device through :meth:`PtyDevice.call`, which runs a function on the simulator thread and waits for
it, so an injected event (a DUT inference with its timestamp edges) has been written to the port
by the time the call returns, in step with the host's own sequencing.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import threading
import time
import tty
from collections.abc import Callable

TICK_S = 0.005  # simulator loop period
CALL_TIMEOUT_S = 10.0


class PtyDevice:
    """Base class: a pty, a thread, byte I/O and in-step calls. Subclasses speak a protocol."""

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._calls: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self.connected = True
        self.protocol_errors: list[str] = []

    # -- lifecycle --------------------------------------------------------------------------
    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def disconnect(self) -> None:
        """Like pulling the USB cable: the port's other end goes away."""

        def _hang_up() -> None:
            self.connected = False
            os.close(self._master)
            self._master = -1

        self.call(_hang_up)

    # -- thread -----------------------------------------------------------------------------
    def call(self, fn: Callable[[], object], timeout: float = CALL_TIMEOUT_S) -> object:
        """Run ``fn`` on the simulator thread; return its result once it has run."""
        done = threading.Event()
        box: dict = {}
        self._calls.put((fn, done, box))
        if not done.wait(timeout):
            raise TimeoutError(f"{type(self).__name__} did not run the call within {timeout} s")
        if "error" in box:
            raise box["error"]
        return box.get("result")

    def sync(self) -> None:
        """Return once the bytes the driver has written so far have been handled."""
        for _ in range(2):  # the first call may land in a loop pass that read before the write
            self.call(lambda: None)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.connected:
                readable, _, _ = select.select([self._master], [], [], TICK_S)
                if readable:
                    try:
                        data = os.read(self._master, 4096)
                    except OSError:
                        data = b""
                    if data:
                        self.on_bytes(data)
            else:
                time.sleep(TICK_S)
            self._run_calls()
            if self.connected:
                self.on_tick()

    def _run_calls(self) -> None:
        while True:
            try:
                fn, done, box = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                box["result"] = fn()
            except Exception as err:  # handed to the caller's thread
                box["error"] = err
            done.set()

    def write(self, data: bytes) -> None:
        """Write everything (the driver may be slow to read); give up once closed."""
        view = memoryview(data)
        while view and self.connected and not self._stop.is_set():
            _, writable, _ = select.select([], [self._master], [], TICK_S)
            if not writable:
                continue
            try:
                sent = os.write(self._master, view)
            except BlockingIOError:
                continue
            view = view[sent:]

    # -- protocol hooks ---------------------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        """Bytes the driver sent."""

    def on_tick(self) -> None:
        """Called every loop: stream whatever is due."""


def edges_after_infer(infer: Callable, sim, trace_for_run: Callable[[int], list[float]]) -> Callable:
    """Wrap a ``DeviceClient.infer``-like method so each energy-mode call (``warmup == 0``) also makes
    the simulated monitor see the DUT's run: its current trace between two timestamp edges.

    An emulated board's GPIO cannot reach a pty simulator, so an end-to-end test of
    ``tinykit measure --power`` patches ``DeviceClient.infer`` with this (``monkeypatch.setattr(
    DeviceClient, "infer", edges_after_infer(DeviceClient.infer, sim, lambda n: [9000.0] * 50 * n))``):
    the real inferences run on the emulated board, and the edges arrive at the monitor in step.
    """

    def coupled(self, n: int = 1, warmup: int = 10):
        result = infer(self, n, warmup)
        if warmup == 0:
            sim.inject_run(trace_for_run(n))
        return result

    return coupled
