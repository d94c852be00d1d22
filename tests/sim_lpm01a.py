"""SIMULATOR of the ST LPM01A power monitor's serial protocol, for tests. Not the device.

It speaks the PowerShield command protocol as the MLPerf Tiny runner drives it (ANCHORS.md) over a
pseudo-terminal: ``PowerShield > ack <cmd>`` replies, ``error`` + ``Error detail:`` for bad
commands, and during an acquisition (``output energy``, ``format ascii_dec``) one ``MMMM±EE``
energy sample per line, ``TimeStamp: SSSs MMMms, buff NN%`` lines and ``event N ris`` lines for
the DUT's timestamp edges, ending with ``Acquisition completed`` after ``stop``.

The DUT is simulated by its current trace: an idle current streams in real time while acquiring,
and :meth:`LPM01ASimulator.inject_run` writes one run (start edge, its samples, end edge) in step
with the caller. The exact energy the DUT drew in each run is kept in :attr:`runs_j` so tests can
compare the driver's windows with it. Faults: garbled samples, buffer overrun (``buff`` or an
error line), dropped samples, disconnect.

Formats of replies the MLPerf runner does not pin down (``powershield``, ``version``, ``status``
payloads, the error line's wording) are this simulator's guesses.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from power_helpers import PtyDevice

PROMPT = "PowerShield > "
FREQS = {"100k": 100_000, "50k": 50_000, "20k": 20_000, "10k": 10_000, "5k": 5000, "2k": 2000,
         "1k": 1000, "500": 500, "200": 200, "100": 100, "50": 50, "20": 20, "10": 10, "5": 5,
         "2": 2, "1": 1}
BOARD_ID = "PowerShield present 0028003C3436510B37363934 (SIMULATOR)"
VERSION = "1.0.6-sim"


def format_sample(value: float) -> str:
    """Energy/current as the LPM01A's ``MMMM±EE`` (4 significant digits)."""
    if value <= 0:
        return "0000+00"
    exponent = math.floor(math.log10(value)) - 3
    mantissa = round(value / 10.0**exponent)
    if mantissa >= 10_000:
        mantissa, exponent = round(mantissa / 10), exponent + 1
    sign = "-" if exponent < 0 else "+"
    return f"{mantissa:04d}{sign}{abs(exponent):02d}"


def parse_millivolts(arg: str) -> int | None:
    try:
        return round(float(arg[:-1])) if arg.endswith("m") else round(float(arg) * 1000)
    except ValueError:
        return None


class LPM01ASimulator(PtyDevice):
    """Simulated LPM01A with a simulated DUT behind it."""

    def __init__(
        self,
        idle_current_ua: float = 350.0,
        idle_rate_hz: float = 1000.0,
        timestamp_every: int = 1000,
        reject: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.idle_current_ua = idle_current_ua
        self.idle_rate_hz = idle_rate_hz  # real-time pace of idle samples
        self.timestamp_every = timestamp_every  # samples between TimeStamp lines
        self.reject = reject or {}
        self.commands: list[str] = []
        self.config = {"output": "current", "format": "ascii_dec", "freq": 100, "volt_mv": 3300,
                       "pwr": "off", "trigsrc": "sw", "acqtime": "10"}
        self.host_control = False
        self.acquiring = False
        self.sample_count = 0  # samples the device produced (written or dropped)
        self.event_count = 0
        self.runs_j: list[float] = []  # exact energy of each injected run
        self.idle_j: list[float] = []  # exact energy of every idle sample written
        self._pending = b""
        self._idle_due_from = 0.0
        self._idle_written = 0

    # -- commands ---------------------------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        self._pending += data
        while b"\r\n" in self._pending:
            raw, self._pending = self._pending.split(b"\r\n", 1)
            self._command(raw.decode("ascii", errors="replace").strip())

    def _reply(self, text: str) -> None:
        self.write(f"{PROMPT}{text}\r\n".encode("ascii"))

    def _error(self, cmd: str, detail: str) -> None:
        self._reply(f"error {cmd}")
        self._reply(f"Error detail: {detail}")

    def _command(self, cmd: str) -> None:
        if not cmd:
            return
        self.commands.append(cmd)
        if cmd in self.reject:
            return self._error(cmd, self.reject[cmd])
        word, _, arg = cmd.partition(" ")
        if word == "stop":
            return self._stop_acquisition()
        handler = getattr(self, f"_cmd_{word}", None)
        if handler is None:
            return self._error(cmd, f"unknown command '{word}'")
        if word not in ("htc", "powershield", "version", "status", "help") and not self.host_control:
            return self._error(cmd, "host control not taken (send htc first)")
        detail = handler(arg)
        if detail is None:
            self._reply(f"ack {cmd}")
        elif detail.startswith("="):
            self._reply(f"ack {cmd} {detail[1:]}")
        else:
            self._error(cmd, detail)

    def _cmd_htc(self, arg: str) -> str | None:
        self.host_control = True
        return None

    def _cmd_hrc(self, arg: str) -> str | None:
        self.host_control = False
        return None

    def _cmd_powershield(self, arg: str) -> str | None:
        return "=" + BOARD_ID

    def _cmd_version(self, arg: str) -> str | None:
        return "=" + VERSION

    def _cmd_status(self, arg: str) -> str | None:
        return "=ok"

    def _cmd_lcd(self, arg: str) -> str | None:
        return None

    def _choice(self, key: str, arg: str, allowed: Sequence[str]) -> str | None:
        if arg not in allowed:
            return f"{key} must be one of {', '.join(allowed)}"
        self.config[key] = arg
        return None

    def _cmd_pwr(self, arg: str) -> str | None:
        state, _, status = arg.partition(" ")
        if status not in ("", "status", "nostatus"):
            return f"bad pwr option '{status}'"
        return self._choice("pwr", state, ("on", "off", "auto"))

    def _cmd_acqtime(self, arg: str) -> str | None:
        self.config["acqtime"] = arg
        return None

    def _cmd_trigdelay(self, arg: str) -> str | None:
        return None

    def _cmd_trigsrc(self, arg: str) -> str | None:
        return self._choice("trigsrc", arg, ("sw", "d7"))

    def _cmd_eventsrc(self, arg: str) -> str | None:
        return self._choice("eventsrc", arg, ("d7 fal", "d7 ris"))

    def _cmd_output(self, arg: str) -> str | None:
        return self._choice("output", arg, ("current", "energy"))

    def _cmd_format(self, arg: str) -> str | None:
        return self._choice("format", arg, ("ascii_dec", "bin_hexa"))

    def _cmd_freq(self, arg: str) -> str | None:
        if arg not in FREQS:
            return f"frequency '{arg}' not supported"
        self.config["freq"] = FREQS[arg]
        return None

    def _cmd_volt(self, arg: str) -> str | None:
        mv = parse_millivolts(arg)
        if mv is None or not 1800 <= mv <= 3300:
            return f"voltage '{arg}' out of range [1800m; 3300m]"
        self.config["volt_mv"] = mv
        return None

    def _cmd_start(self, arg: str) -> str | None:
        if (self.config["output"], self.config["format"]) != ("energy", "ascii_dec"):
            return "this simulator streams only output energy in format ascii_dec"
        if self.acquiring:
            return "acquisition already running"
        self.acquiring = True
        self.sample_count = self.event_count = self._idle_written = 0
        self._idle_due_from = time.monotonic()
        return None

    def _stop_acquisition(self) -> None:
        self.acquiring = False
        self.write(f"{PROMPT}Acquisition completed\r\n{PROMPT}".encode("ascii"))

    # -- streaming --------------------------------------------------------------------------
    def sample_energy_j(self, current_ua: float) -> float:
        """Energy of one sample period at the configured voltage and rate."""
        return current_ua * 1e-6 * self.config["volt_mv"] / 1000 / self.config["freq"]

    def _sample_lines(self, energies: Sequence[float], garble_at: int | None = None) -> bytes:
        out = []
        for i, energy in enumerate(energies):
            text = format_sample(energy)
            out.append(("6#" + text[2:-1]) if i == garble_at else text)
            self.sample_count += 1
            if self.sample_count % self.timestamp_every == 0:
                out.append(self._timestamp_text())
        return ("\r\n".join(out) + "\r\n").encode("ascii") if out else b""

    def _timestamp_text(self, buff: int = 0) -> str:
        ms = round(self.sample_count * 1000 / self.config["freq"])
        return f"TimeStamp: {ms // 1000:03d}s {ms % 1000:03d}ms, buff {buff:02d}%"

    def on_tick(self) -> None:
        if not self.acquiring:
            return
        due = int((time.monotonic() - self._idle_due_from) * self.idle_rate_hz) - self._idle_written
        if due <= 0:
            return
        energies = [self.sample_energy_j(self.idle_current_ua)] * due
        self._idle_written += due
        self.idle_j.extend(energies)
        self.write(self._sample_lines(energies))

    def _event(self) -> bytes:
        self.event_count += 1
        return f"event {self.event_count} ris\r\n".encode("ascii")

    # -- what a test does -------------------------------------------------------------------
    def inject_run(self, current_ua: Sequence[float], garble_at: int | None = None) -> float:
        """One DUT run: timestamp edge, the run's samples, timestamp edge. Returns its exact J."""

        def _write() -> float:
            assert self.acquiring, "inject_run while the monitor is not acquiring"
            energies = [self.sample_energy_j(c) for c in current_ua]
            self.write(self._event() + self._sample_lines(energies, garble_at) + self._event())
            self.runs_j.append(math.fsum(energies))
            return self.runs_j[-1]

        return self.call(_write)

    def inject_edge(self) -> None:
        """A lone timestamp edge (e.g. a spurious one)."""
        self.call(lambda: self.write(self._event()))

    def emit_timestamp(self, buff: int = 0) -> None:
        self.call(lambda: self.write((self._timestamp_text(buff) + "\r\n").encode("ascii")))

    def drop_samples(self, n: int) -> None:
        """The device loses ``n`` samples (its count moves on, nothing is written)."""

        def _drop() -> None:
            self.sample_count += n

        self.call(_drop)

    def emit_error(self, detail: str = "acquisition buffer overflow") -> None:
        self.call(lambda: (self._reply("error acquisition"), self._reply(f"Error detail: {detail}")))
