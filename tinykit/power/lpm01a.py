"""ST X-NUCLEO-LPM01A (PowerShield) driver: the monitor MLPerf Tiny's energy runner uses.

The wire protocol (ANCHORS.md): commands end ``\\r\\n``; replies are ``PowerShield > ack <cmd>``
or a line with ``error`` followed by ``Error detail: ...``. During an acquisition the device streams
one ASCII sample per line (``MMMM±EE`` = MMMM x 10^±EE; with ``output energy`` the energy of one
sample period in joules), a ``TimeStamp: 012s 345ms, buff 00%`` line about once a second and an
``event N ris`` line when the DUT's timestamp pin (D7) falls. ``stop`` is not acked: the device
ends with ``Acquisition completed``.

A reader thread owns the port so the 1 kHz stream is drained continuously; commands are sent from
the caller's thread and matched against the replies the reader queues. Any garbled line, buffer
overrun, error line or disconnect during an acquisition poisons it: ``stop()`` raises instead of
returning windows computed from an incomplete stream.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time

import serial

from tinykit.errors import PowerMonitorError
from tinykit.power.base import Acquisition, PowerMonitor

BAUD_RATE = 3_686_400
PROMPT = "PowerShield > "
SAMPLE_RATE_HZ = 1000  # `freq 1k`, as the MLPerf Tiny runner configures it
SAMPLE_RATE_ARG = "1k"
VOLTAGE_RANGE_MV = (1800, 3300)  # what `volt` accepts
COMMAND_TIMEOUT_S = 2.0  # per attempt, waiting for `ack <cmd>` / `error`
COMMAND_RETRIES = 2  # extra attempts when the device stays silent
ERROR_DETAIL_TIMEOUT_S = 1.0  # waiting for the `Error detail:` line after an error
STOP_TIMEOUT_S = 5.0  # waiting for `Acquisition completed` after `stop`
READ_TIMEOUT_S = 0.05  # serial read granularity of the reader thread
DATA_TIMEOUT_S = 3.0  # silence while acquiring (TimeStamp lines come every second) = device lost
BUFFER_OVERRUN_PERCENT = 90  # `buff NN%` at or above this: the device is dropping samples
SAMPLE_COUNT_SLACK = 2  # samples between two TimeStamp lines may differ from rate x time by this

SAMPLE_RE = re.compile(r"^(\d{4})([+-])(\d{2})$")
TIMESTAMP_RE = re.compile(r"^TimeStamp: (\d{3})s (\d{3})ms, buff (\d{2})%$")
EVENT_RE = re.compile(r"^event (\d+) ris$")
MESSAGE_PREFIXES = ("ack", "error", "Error detail", "Acquisition completed", "PowerShield")


def parse_sample(text: str) -> float | None:
    """``6409-07`` -> 6.409e-4; None if the text is not exactly one sample."""
    m = SAMPLE_RE.match(text)
    if not m:
        return None
    exponent = int(m.group(3)) * (-1 if m.group(2) == "-" else 1)
    return int(m.group(1)) * 10.0**exponent


def strip_prompt(line: str) -> str:
    """Remove any leading prompts (a bare prompt has no newline, so it glues onto the next line)."""
    line = line.strip()
    while line.startswith(PROMPT.strip()):
        line = line[len(PROMPT.strip()) :].strip()
    return line


class _Stream:
    """What the reader thread has collected for the current acquisition."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.edges: list[int] = []
        self.error: str | None = None
        self.last_stamp: tuple[float, int] | None = None
        self.last_data = time.monotonic()

    def fail(self, message: str) -> None:
        if self.error is None:  # the first fault is the cause; later ones are consequences
            self.error = message


class LPM01A(PowerMonitor):
    """ST LPM01A over its USB virtual COM port (any pyserial URL works, e.g. a pty)."""

    kind = "lpm01a"

    def __init__(self, port: str, voltage_mv: int = 3300) -> None:
        lo, hi = VOLTAGE_RANGE_MV
        if not lo <= voltage_mv <= hi:
            raise PowerMonitorError(
                f"the LPM01A supplies {lo}-{hi} mV; {voltage_mv} mV was asked for",
                hint="pass a supply voltage the board runs at within that range",
            )
        super().__init__(port, voltage_mv)
        self._ser: serial.SerialBase | None = None
        self._messages: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._stream: _Stream | None = None
        self._port_error: str | None = None
        self._running = False
        self._reader: threading.Thread | None = None
        self._acquiring = False

    # -- connection -------------------------------------------------------------------------
    def open(self) -> None:
        try:
            self._ser = serial.serial_for_url(self.port, baudrate=BAUD_RATE, timeout=READ_TIMEOUT_S)
        except (serial.SerialException, OSError, ValueError) as err:
            raise PowerMonitorError(
                f"cannot open the LPM01A at {self.port}: {err}",
                hint="check the USB cable and the port name (ST virtual COM port 0483:5740)",
            ) from err
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, name="lpm01a-reader", daemon=True)
        self._reader.start()

    def configure(self) -> None:
        """The MLPerf Tiny energy set-up, at our supply voltage; leaves the DUT powered."""
        self.command("htc")
        for cmd in (
            "pwr off",
            "acqtime inf",
            "trigdelay 0",
            "trigsrc sw",
            "eventsrc d7 fal",
            "output energy",
            "format ascii_dec",
            f"freq {SAMPLE_RATE_ARG}",
            f"volt {self.voltage_mv}m",
            "pwr on nostatus",
        ):
            self.command(cmd)

    def identity(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "port": self.port,
            "board": self.command("powershield") or "?",
            "version": self.command("version") or "?",
            "status": self.command("status") or "?",
            "voltage_mv": str(self.voltage_mv),
        }

    def close(self) -> None:
        if self._ser is None:
            return
        if self._port_error is None:
            try:  # best effort: the device may already be gone
                if self._acquiring:
                    self._send_line("stop")  # not acked; `pwr off` below waits for its own ack
                self.command("pwr off", retries=0)
                self.command("hrc", retries=0)
            except PowerMonitorError:
                pass
        self._running = False
        if self._reader is not None:
            self._reader.join(timeout=1.0)
        with contextlib.suppress(serial.SerialException, OSError):
            self._ser.close()
        self._ser = None

    # -- commands ---------------------------------------------------------------------------
    def _send_line(self, cmd: str) -> None:
        self._check_port()
        try:
            assert self._ser is not None
            self._ser.write(f"{cmd}\r\n".encode("ascii"))
        except (serial.SerialException, OSError) as err:
            self._port_error = f"the LPM01A at {self.port} disconnected ({err})"
            raise PowerMonitorError(self._port_error) from err

    def _check_port(self) -> None:
        if self._ser is None:
            raise PowerMonitorError("the LPM01A is not open; use `with open_monitor(...) as mon`")
        if self._port_error:
            raise PowerMonitorError(self._port_error, hint="reconnect the monitor and run again")

    def _drain_messages(self) -> None:
        while True:
            try:
                self._messages.get_nowait()
            except queue.Empty:
                return

    def _next_message(self, deadline: float) -> str | None:
        while True:
            self._check_port()
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                return self._messages.get(timeout=min(left, READ_TIMEOUT_S))
            except queue.Empty:
                continue

    def command(self, cmd: str, retries: int = COMMAND_RETRIES) -> str:
        """Send one command, wait for its ack; return any text that came with the ack."""
        for _attempt in range(retries + 1):
            self._drain_messages()
            self._send_line(cmd)
            reply = self._await_reply(cmd)
            if reply is not None:
                return reply
        raise PowerMonitorError(
            f"the LPM01A at {self.port} did not answer `{cmd}` within "
            f"{COMMAND_TIMEOUT_S:g} s ({retries + 1} attempts)",
            hint="is this port really the LPM01A, at 3686400 baud, and not held by another program?",
        )

    def _await_reply(self, cmd: str) -> str | None:
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        extra: list[str] = []
        while (line := self._next_message(deadline)) is not None:
            if line.startswith("ack") and cmd in line:
                tail = line[len("ack") :].strip()[len(cmd) :].strip()
                return " ".join([*extra, tail]).strip()
            if line.startswith("error"):
                detail = self._error_detail()
                raise PowerMonitorError(f"the LPM01A rejected `{cmd}`: {detail or line}")
            if not line.startswith("ack"):
                extra.append(line)
        return None

    def _error_detail(self) -> str:
        deadline = time.monotonic() + ERROR_DETAIL_TIMEOUT_S
        while (line := self._next_message(deadline)) is not None:
            if line.startswith("Error detail"):
                return line.split(":", 1)[-1].strip()
        return ""

    # -- acquisition ------------------------------------------------------------------------
    def _acquire_start(self) -> None:
        with self._lock:
            self._stream = _Stream()
            self._acquiring = True  # before `start`: samples may follow its ack at once
        try:
            self.command("start")
        except PowerMonitorError:
            self._acquiring = False
            raise

    def _acquire_stop(self) -> Acquisition:
        stream = self._stream
        if stream is None or not self._acquiring:
            raise PowerMonitorError("stop() without start(): no acquisition is running")
        silent = time.monotonic() - stream.last_data
        self._drain_messages()
        self._send_line("stop")
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while (line := self._next_message(deadline)) is not None:
            if "Acquisition completed" in line:
                break
        else:
            raise PowerMonitorError(
                f"the LPM01A did not confirm `stop` within {STOP_TIMEOUT_S:g} s (no `Acquisition completed`)"
            )
        self._acquiring = False
        with self._lock:
            self._stream = None
        if stream.error:
            raise PowerMonitorError(stream.error, hint="no results were kept from this acquisition")
        if silent > DATA_TIMEOUT_S:
            raise PowerMonitorError(f"the LPM01A sent no data for {silent:.1f} s during the acquisition")
        if not stream.samples:
            raise PowerMonitorError("the LPM01A acquisition held no samples")
        return Acquisition(stream.samples, stream.edges, 1.0 / SAMPLE_RATE_HZ)

    # -- reader thread ----------------------------------------------------------------------
    def _read_loop(self) -> None:
        pending = b""
        while self._running:
            try:
                assert self._ser is not None
                chunk = self._ser.read(max(1, self._ser.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as err:
                if self._running:
                    self._port_error = f"the LPM01A at {self.port} disconnected ({err})"
                    with self._lock:
                        if self._stream is not None:
                            self._stream.fail(self._port_error)
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                self._handle_line(raw.decode("ascii", errors="replace"))

    def _handle_line(self, raw: str) -> None:
        line = strip_prompt(raw)
        if not line:
            return
        with self._lock:
            stream = self._stream if self._acquiring else None
            if stream is not None and self._handle_data(stream, line):
                return
        self._messages.put(line)

    def _handle_data(self, stream: _Stream, line: str) -> bool:
        """Consume one line of the acquisition stream; False if it is a command reply."""
        stream.last_data = time.monotonic()
        value = parse_sample(line)
        if value is not None:
            stream.samples.append(value)
            return True
        if m := EVENT_RE.match(line):
            stream.edges.append(len(stream.samples))
            return True
        if m := TIMESTAMP_RE.match(line):
            self._check_timestamp(stream, int(m.group(1)) + int(m.group(2)) / 1000, int(m.group(3)))
            return True
        if line.startswith("error"):
            stream.fail(f"the LPM01A reported an error during the acquisition: {line}")
            return False
        if line.startswith("Error detail") and stream.error:
            stream.error += f" ({line.split(':', 1)[-1].strip()})"
            return False
        if line.startswith(MESSAGE_PREFIXES):
            return False
        stream.fail(f"garbled line from the LPM01A during the acquisition: {line[:40]!r}")
        return True

    @staticmethod
    def _check_timestamp(stream: _Stream, seconds: float, buff_percent: int) -> None:
        if buff_percent >= BUFFER_OVERRUN_PERCENT:
            stream.fail(
                f"the LPM01A's sample buffer reached {buff_percent}% (overrun): samples were lost "
                "because the host did not read fast enough"
            )
        count = len(stream.samples)
        if stream.last_stamp is not None:
            prev_s, prev_count = stream.last_stamp
            expected = round((seconds - prev_s) * SAMPLE_RATE_HZ)
            if abs((count - prev_count) - expected) > SAMPLE_COUNT_SLACK:
                stream.fail(
                    f"the LPM01A sent {count - prev_count} samples in {seconds - prev_s:.3f} s "
                    f"where {expected} were due: samples were dropped"
                )
        stream.last_stamp = (seconds, count)
