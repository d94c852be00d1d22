"""A client for the MLPerf Tiny / tinykit serial protocol that never hangs.

Every read has a deadline; a reply that times out, contains a garbled line, or is interrupted by
the device's boot lines (it reset) is retried up to :data:`MAX_ATTEMPTS` times. Beyond the budget
the failure becomes a :class:`~tinykit.errors.DeviceError` that names the command.

Replies carry no command id, so a line that arrives late (the boot banner, the reply to the lone
``%`` that ends a partial command, the reply to a command that timed out) would look like the
reply to the next command. The client therefore never sends a command on a line it has not
*synchronised*: it sends ``%tk-sync NONCE%`` with a fresh random nonce and discards every line
until the device echoes that nonce. The device answers commands in order, so everything stale is
behind the echo. The line is synchronised when the session starts and after every fault; a quiet
period proves nothing on a loaded host or a slow link, so no drain-and-hope is used. After a reset
the client also restores the state the device lost: the loaded input (checked by CRC) and the last
inference.
"""

from __future__ import annotations

import secrets
import time
import zlib
from collections.abc import Callable
from typing import Any

from tinykit.device import protocol
from tinykit.device.link import (
    DeviceTimeoutError,
    GarbledLineError,
    SerialLine,
    Trace,
    TransientDeviceError,
    open_port,
)
from tinykit.device.protocol import Line
from tinykit.errors import DeviceError

# Seconds to wait for the reply to an ordinary command (between sending it and `m-ready`).
COMMAND_TIMEOUT_S = 5.0
# Seconds one inference may take before the first one has been timed: generous, because a big
# model on an emulated core on a busy host is slow.
INFER_TIMEOUT_S = 120.0
# Once an inference has been timed, a later one may take this many times as long (at least
# INFER_MIN_TIMEOUT_S, at most INFER_TIMEOUT_S) before it counts as hung.
INFER_TIMEOUT_FACTOR = 10.0
INFER_MIN_TIMEOUT_S = 10.0
# Seconds from opening the port (or a reset) until the device has printed its boot lines.
BOOT_TIMEOUT_S = 10.0
# Tries per command (first try included) before a transient fault becomes a DeviceError.
MAX_ATTEMPTS = 3
__all__ = ["DeviceClient", "DeviceResetError", "DeviceTimeoutError", "GarbledLineError", "Trace",
           "TransientDeviceError"]


class DeviceResetError(TransientDeviceError):
    """Boot lines appeared in the middle of a reply: the device reset."""


class CrcMismatchError(TransientDeviceError):
    """The device's CRC of the loaded input differs from the host's."""


class DeviceClient(SerialLine):
    """Talks to one device over any pyserial URL (``/dev/tty*``, ``socket://``, ``rfc2217://``)."""

    def __init__(
        self,
        url: str,
        baud: int = protocol.DEFAULT_BAUD,
        trace: Trace | None = None,
        *,
        command_timeout: float | None = None,
        infer_timeout: float | None = None,
        boot_timeout: float | None = None,
        max_attempts: int | None = None,
        stateful: bool = False,
    ) -> None:
        # None means the module constant, read now (so tests can shorten them with monkeypatch).
        self.url = url
        self.command_timeout = command_timeout or COMMAND_TIMEOUT_S
        self.infer_timeout = infer_timeout or INFER_TIMEOUT_S
        self.boot_timeout = boot_timeout or BOOT_TIMEOUT_S
        self.max_attempts = max_attempts or MAX_ATTEMPTS
        self.faults: list[str] = []  # transient faults recovered from, for the report
        self._trace = trace
        self._buf = bytearray()
        # what the device holds, to restore after a reset: the loads in order, each (input index, or
        # None for a whole-blob `db load`, and its bytes)
        self._loaded: list[tuple[int | None, bytes]] = []
        self._ran = False  # whether an inference ran on the loaded input
        self._needs_restore = False
        self._synced = False  # replies aligned with commands (see the module docstring)
        # A stateful model (LSTM/SVDF) carries state between inferences: a device reset in the middle
        # of a sequence loses it, which no replay of the last input can restore.
        self.stateful = stateful
        self._runs_since_reset = 0
        self._port = open_port(url, baud)

    # -- public commands -------------------------------------------------------------------
    def wait_ready(self) -> str:
        """Let the device finish booting, synchronise the line, then prove it answers; returns its name."""
        self._synced = False
        return self.name()

    def name(self) -> str:
        return self._single("name", "name")[0]

    def profile(self) -> dict[str, str]:
        lines = self._retry("profile", lambda: self._transact(protocol.command("profile")))
        return {line.kind: line.groups[0] for line in lines if line.kind in ("profile", "model")}

    def info(self) -> dict[str, Any]:
        payload = self._single("tk-info", "tk_info")[0]
        try:
            return protocol.parse_info(payload)
        except ValueError as err:
            raise DeviceError(f"tk-info: {err}") from None

    def crc(self) -> int:
        return int(self._single("tk-crc", "tk_crc")[0], 16)

    def cycles(self) -> int:
        return int(self._single("tk-cycles", "tk_cycles")[0])

    def load_input(self, data: bytes) -> int:
        """Upload one input blob (every model input back to back) with `db load` + `db HEX` chunks
        and check the device's CRC of it."""
        if not data:
            raise DeviceError("cannot load an empty input")
        return self._retry("db load", lambda: self._load_once(data))

    def load_input_at(self, index: int, data: bytes) -> int:
        """Upload model input ``index`` alone (`tk-load I N` + `db HEX` chunks), CRC-checked."""
        if not data:
            raise DeviceError(f"cannot load an empty input {index}")
        return self._retry(f"tk-load {index}", lambda: self._load_once(data, index))

    def load_inputs(self, parts: list[bytes]) -> None:
        """Upload each model input on its own (a model with several inputs)."""
        for index, data in enumerate(parts):
            self.load_input_at(index, data)

    def run_once(self) -> None:
        """One inference on the loaded input, no warm-up (`tk-run%`)."""
        self._retry("tk-run", self._run_once)

    def reset_state(self) -> None:
        """A recurrent model's state back to its initial value (`tk-reset%`): a new sequence starts."""
        self._single("tk-reset", "tk_reset_done")
        self._runs_since_reset = 0

    def infer(self, n: int = 1, warmup: int = 10) -> dict[str, Any]:
        """The MLPerf runner's `infer N W%`: returns laps, elapsed µs and the results floats."""
        timeout = self.command_timeout + (n + warmup) * self.infer_timeout
        lines = self._retry("infer", lambda: self._transact(protocol.command("infer", n, warmup), timeout))
        laps = [int(line.groups[0]) for line in lines if line.kind == "lap_us"]
        results = [protocol.parse_results(line.groups[0]) for line in lines if line.kind == "results"]
        if not results or not any(line.kind == "infer_done" for line in lines):
            raise GarbledLineError(f"the reply to 'infer {n} {warmup}' lacks m-infer-done or m-results")
        self._ran = True
        self._runs_since_reset += n + warmup
        # Energy-mode firmware marks time on its GPIO pin instead of printing m-lap-us lines.
        elapsed = laps[-1] - laps[-2] if len(laps) >= 2 else None
        return {"n": n, "warmup": warmup, "lap_us": laps, "elapsed_us": elapsed, "results": results[-1]}

    def results(self) -> list[float]:
        return protocol.parse_results(self._single("results", "results")[0])

    def output(self, index: int) -> bytes:
        """Raw bytes of output ``index`` of the last inference (`tk-out I%`)."""
        lines = self._retry("tk-out", lambda: self._transact(protocol.command("tk-out", index)))
        outs = [bytes.fromhex(line.groups[1]) for line in lines if line.kind == "tk_out"
                and int(line.groups[0]) == index]
        if len(outs) != 1:
            raise DeviceError(f"tk-out {index}: expected one m-tk-out-{index} line, got {len(outs)}")
        return outs[0]

    def outputs(self) -> list[bytes]:
        """Raw bytes of every output of the last inference (`tk-out%`)."""
        lines = self._retry("tk-out", lambda: self._transact(protocol.command("tk-out")))
        outs = {int(line.groups[0]): bytes.fromhex(line.groups[1]) for line in lines if line.kind == "tk_out"}
        if sorted(outs) != list(range(len(outs))) or not outs:
            raise DeviceError(f"tk-out: expected outputs 0..n-1, got indices {sorted(outs)}")
        return [outs[i] for i in range(len(outs))]

    def layers(self) -> list[tuple[str, int]]:
        """Per-layer cycles of the last inference (`tk-layers%`), in layer order."""
        lines = self._retry("tk-layers", lambda: self._transact(protocol.command("tk-layers")))
        rows = sorted((int(x.groups[0]), x.groups[1], int(x.groups[2])) for x in lines if x.kind == "tk_layer")
        return [(name, cycles) for _, name, cycles in rows]

    # -- one attempt of each stateful operation ---------------------------------------------
    def _load_once(self, data: bytes, index: int | None = None) -> int:
        """One `db load N` (``index`` None: the whole blob) or `tk-load I N`, its chunks, its CRC."""
        self._ran = False
        # a whole-blob load replaces everything; an input's load replaces that input's earlier one
        self._loaded = [] if index is None else [(i, d) for i, d in self._loaded if i != index]
        words = ("db", "load", len(data)) if index is None else ("tk-load", index, len(data))
        lines = self._transact(protocol.command(*words))
        self._expect(lines, "expecting", " ".join(str(w) for w in words[:-1]))
        done = False
        for chunk in protocol.db_chunks(data):
            done = any(line.kind == "load_done" for line in self._transact(chunk)) or done
        if not done:
            raise DeviceError(f"db: device never printed m-load-done after {len(data)} bytes")
        device_crc = int(self._expect(self._transact(protocol.command("tk-crc")), "tk_crc", "tk-crc")[0], 16)
        if device_crc != zlib.crc32(data):
            raise CrcMismatchError(
                f"input CRC mismatch: device {device_crc:08x}, host {zlib.crc32(data):08x}"
            )
        self._loaded.append((index, data))
        return device_crc

    def _run_once(self) -> None:
        start = time.monotonic()
        lines = self._transact(protocol.command("tk-run"), self.command_timeout + self.infer_timeout)
        self._expect(lines, "tk_run_done", "tk-run")
        self._ran = True
        self._runs_since_reset += 1
        # Adapt the hang detection to this device: a hung inference is found in seconds, not minutes.
        observed = INFER_TIMEOUT_FACTOR * (time.monotonic() - start)
        self.infer_timeout = min(self.infer_timeout, max(INFER_MIN_TIMEOUT_S, observed))

    def _restore(self) -> None:
        """After a reset: put back the input (and the inference) the device lost."""
        if self.stateful and self._runs_since_reset:
            raise DeviceError(
                f"the device reset after {self._runs_since_reset} inferences of a stateful sequence: "
                "its state (LSTM/SVDF variable tensors) is lost", hint="check the board's power and wiring")
        if self._loaded:
            ran, loads = self._ran, list(self._loaded)
            for index, data in loads:
                self._load_once(data, index)
            if ran:
                self._run_once()
        self._needs_restore = False

    # -- retries -----------------------------------------------------------------------------
    def _single(self, cmd: str, kind: str) -> tuple[str, ...]:
        return self._retry(cmd, lambda: self._expect(self._transact(protocol.command(cmd)), kind, cmd))

    def _retry(self, what: str, op: Callable[[], Any]) -> Any:
        last: TransientDeviceError | None = None
        for _ in range(self.max_attempts):
            try:
                if not self._synced and self._sync(self.boot_timeout):
                    self._needs_restore = True  # boot lines were behind the echo: the device reset
                if self._needs_restore:
                    self._restore()
                return op()
            except TransientDeviceError as err:
                last = err
                self.faults.append(f"{what}: {err.message}")
                self._synced = False
                if isinstance(err, DeviceResetError):
                    self._needs_restore = True
        assert last is not None
        raise DeviceError(
            f"{what}: {last.message} (gave up after {self.max_attempts} attempts)",
            hint="check the wiring and baud rate (measure, run and stream log every line with --trace)",
        )

    # -- synchronisation -----------------------------------------------------------------------
    def _sync(self, limit_s: float) -> bool:
        """Align replies with commands (module docstring); True if boot lines were discarded.

        A device that is still booting may lose the first request, so a fresh nonce is sent every
        ``command_timeout`` until ``limit_s`` has passed; only the latest nonce counts, since the
        echoes of earlier ones arrive before it.
        """
        end = time.monotonic() + limit_s
        saw_boot = False
        while True:
            token = secrets.token_hex(protocol.SYNC_TOKEN_DIGITS // 2)
            self._write(protocol.sync_command(token))
            try:
                saw_boot = self._await_echo(token, min(end, time.monotonic() + self.command_timeout)) or saw_boot
            except DeviceTimeoutError:
                if time.monotonic() >= end:
                    raise DeviceTimeoutError(
                        f"no echo of tk-sync within {limit_s:.0f} s (is the device running tinykit "
                        "firmware at this baud rate?)") from None
                continue
            self._synced = True
            return saw_boot

    def _await_echo(self, token: str, deadline: float) -> bool:
        """Discard lines up to `m-tk-sync-[token]` and its `m-ready`; True if boot lines were among them."""
        saw_boot, echoed = False, False
        while True:
            line = protocol.parse_line(self._read_line(deadline))
            if line is None:
                continue
            saw_boot = saw_boot or line.kind in protocol.BOOT_KINDS
            if echoed and line.kind == "ready":
                return saw_boot
            echoed = echoed or (line.kind == "tk_sync" and line.groups[0] == token)

    # -- one command, one reply ----------------------------------------------------------------
    def _transact(self, cmd: bytes, timeout: float | None = None) -> list[Line]:
        """Send ``cmd`` and collect its reply lines up to `m-ready`; `e-[...]` becomes DeviceError."""
        self._write(cmd)
        deadline = time.monotonic() + (timeout or self.command_timeout)
        name = cmd.decode("ascii").rstrip(protocol.TERMINATOR)
        shown = name if len(name) <= 24 else name[:21] + "..."
        lines: list[Line] = []
        while True:
            try:
                text = self._read_line(deadline)
            except DeviceTimeoutError:
                raise DeviceTimeoutError(f"no m-ready from the device after '{shown}'") from None
            line = protocol.parse_line(text)
            if line is None:
                raise GarbledLineError(f"garbled line {text[:60]!r} in the reply to '{shown}'")
            if line.kind in protocol.BOOT_KINDS:
                raise DeviceResetError(f"the device reset (printed {text!r}) during '{shown}'")
            if line.kind == "ready":
                break
            lines.append(line)
        errors = [line.groups[0] for line in lines if line.kind == "error"]
        if errors:
            raise DeviceError(f"device rejected '{shown}': {errors[0]}")
        return lines

    @staticmethod
    def _expect(lines: list[Line], kind: str, what: str) -> tuple[str, ...]:
        for line in lines:
            if line.kind == kind:
                return line.groups
        raise GarbledLineError(f"the reply to '{what}' lacks its m-{kind.replace('_', '-')} line")
