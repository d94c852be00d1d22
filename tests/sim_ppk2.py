"""SIMULATOR of the Nordic PPK2's binary serial protocol, for tests. Not the device.

It answers the byte commands ``ppk2-api`` 0.9.2 sends (GET_META_DATA 0x19 -> calibration text ending
``END``; SET_POWER_MODE 0x11 m; REGULATOR_SET 0x0d b1 b2; DEVICE_RUNNING_SET 0x0c s;
AVERAGE_START 0x06 / AVERAGE_STOP 0x07) over a pseudo-terminal, so the real ``PPK2_API`` code
drives it. While measuring it streams 4-byte little-endian words (bits 0-13 ADC, 14-16 range,
24-31 logic inputs) for a simulated DUT: an idle current in real time, and runs injected by the
test with :meth:`PPK2Simulator.inject_run`, whose timestamp pin falls at the run's first sample
and again just after its last one.

Its calibration makes ppk2-api's conversion linear (GS=0, GI=1, offsets 0), so the exact current
of every word is known: :attr:`runs_j` holds each run's exact energy at the set voltage.
Faults: garbled words (impossible range), a lost byte, disconnect.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Sequence

from power_helpers import PtyDevice

R = {0: 1031.64, 1: 101.65, 2: 10.15, 3: 0.94, 4: 0.043}
ADC_MULT = 1.8 / 163840  # ppk2-api's adc_mult
SAMPLE_RATE_HZ = 100_000
COMMAND_LENGTHS = {0x19: 1, 0x06: 1, 0x07: 1, 0x0D: 3, 0x0C: 2, 0x11: 2, 0x20: 1, 0x08: 2}
METADATA_DELAY_S = 0.03  # the device takes a moment; ppk2-api polls in_waiting every 0.1 s
HW_ID = "2374922381"


def metadata_text() -> str:
    rows = ["Calibrated: 0"]
    for name, value in (("R", None), ("GS", 0), ("GI", 1), ("O", 0), ("S", 0), ("I", 0), ("UG", 1)):
        rows += [f"{name}{i}: {R[i] if value is None else value}" for i in range(5)]
    rows += [f"HW: {HW_ID}", "mode: 2", "IA: 56", "END"]
    return "\n".join(rows) + "\n"


class PPK2Simulator(PtyDevice):
    """Simulated PPK2 with a simulated DUT on its output."""

    def __init__(
        self,
        idle_current_ua: float = 420.0,
        idle_rate_hz: float = 5000.0,
        channel: int = 0,
        meas_range: int = 2,
        answer_metadata: bool = True,
    ) -> None:
        super().__init__()
        self.idle_current_ua = idle_current_ua
        self.idle_rate_hz = idle_rate_hz  # real-time pace of idle words (virtual time is 10 µs/word)
        self.channel = channel
        self.meas_range = meas_range
        self.answer_metadata = answer_metadata
        self.voltage_mv: int | None = None
        self.mode: int | None = None
        self.dut_power = False
        self.measuring = False
        self.commands: list[tuple[int, ...]] = []
        self.runs_j: list[float] = []
        self.words_written = 0
        self._pending = b""
        self._idle_start = 0.0
        self._idle_written = 0

    # -- commands ---------------------------------------------------------------------------
    def on_bytes(self, data: bytes) -> None:
        self._pending += data
        while self._pending:
            opcode = self._pending[0]
            length = COMMAND_LENGTHS.get(opcode)
            if length is None:
                self.protocol_errors.append(f"unknown opcode 0x{opcode:02x}")
                self._pending = self._pending[1:]
                continue
            if len(self._pending) < length:
                return
            cmd, self._pending = tuple(self._pending[:length]), self._pending[length:]
            self.commands.append(cmd)
            self._command(cmd)

    def _command(self, cmd: tuple[int, ...]) -> None:
        opcode = cmd[0]
        if opcode == 0x19 and self.answer_metadata:
            time.sleep(METADATA_DELAY_S)
            self.write(metadata_text().encode("ascii"))
        elif opcode == 0x11:
            self.mode = cmd[1]  # 1 ampere meter, 2 source meter
        elif opcode == 0x0D:
            self.voltage_mv = (cmd[1] - 3) * 256 + cmd[2] + 800 - 32
        elif opcode == 0x0C:
            self.dut_power = cmd[1] == 1
        elif opcode == 0x06:
            self.measuring = True
            self._idle_start, self._idle_written = time.monotonic(), 0
        elif opcode == 0x07:
            self.measuring = False

    # -- words ------------------------------------------------------------------------------
    @property
    def lsb_ua(self) -> float:
        """Current of one ADC step in the simulated range (the sampling resolution)."""
        return 4 * ADC_MULT / R[self.meas_range] * 1e6

    def quantize(self, current_ua: float) -> int:
        return max(0, min(16383, round(current_ua / self.lsb_ua)))

    def word(self, current_ua: float, pin_high: bool, meas_range: int | None = None) -> bytes:
        rng = self.meas_range if meas_range is None else meas_range
        logic = 0xFF if pin_high else 0xFF & ~(1 << self.channel)
        self.words_written += 1
        return struct.pack("<I", self.quantize(current_ua) | (rng << 14) | (logic << 24))

    def word_energy_j(self, current_ua: float) -> float:
        """Exact energy of one word as the simulated DUT drew it (before quantization)."""
        return current_ua * 1e-6 * (self.voltage_mv or 0) / 1000 / SAMPLE_RATE_HZ

    def on_tick(self) -> None:
        if not self.measuring:
            return
        due = int((time.monotonic() - self._idle_start) * self.idle_rate_hz) - self._idle_written
        if due > 0:
            self._idle_written += due
            self.write(b"".join(self.word(self.idle_current_ua, True) for _ in range(due)))

    # -- what a test does -------------------------------------------------------------------
    def inject_run(
        self, current_ua: Sequence[float], pulse_words: int = 1, garble_at: int | None = None
    ) -> float:
        """One DUT run framed by two falling edges of the timestamp pin; returns its exact J."""

        def _write() -> float:
            assert self.measuring, "inject_run while the PPK2 is not measuring"
            out = [self.word(self.idle_current_ua, True)]  # the pin idles high before the run
            for i, current in enumerate(current_ua):
                out.append(self.word(current, i >= pulse_words, 7 if i == garble_at else None))
            out += [self.word(self.idle_current_ua, False) for _ in range(pulse_words)]
            out.append(self.word(self.idle_current_ua, True))
            self.write(b"".join(out))
            self.runs_j.append(math.fsum(self.word_energy_j(c) for c in current_ua))
            return self.runs_j[-1]

        return self.call(_write)

    def lose_byte(self) -> None:
        """Write a word with one byte missing (the stream loses alignment)."""
        self.call(lambda: self.write(self.word(self.idle_current_ua, True)[:3]))
