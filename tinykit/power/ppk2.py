"""Nordic Power Profiler Kit II driver, through the ``ppk2-api`` package.

The PPK2 streams 4-byte little-endian words at about 100 kS/s: bits 0-13 the ADC value, 14-16 the
measurement range, 24-31 the eight logic inputs. ``ppk2-api`` turns them into µA (with the
device's calibration, read by ``get_modifiers``) and raw logic bytes. One logic input carries the
DUT's timestamp pin; windows lie between its falling edges.

A reader thread only moves bytes off the port (the stream is too fast to decode on the fly in
Python); ``stop()`` checks the bytes (whole words, valid range fields) and hands them to
``PPK2_API.get_samples`` in one go. Any fault poisons the whole acquisition.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import serial

from tinykit.errors import PowerMonitorError
from tinykit.power.base import Acquisition, PowerMonitor

SAMPLE_RATE_HZ = 100_000  # the PPK2's fixed sample rate (ppk2-api buffers 100k words per second)
WORD_BYTES = 4
MAX_RANGE = 4  # ranges 0..4; the 3-bit field holding 5..7 is corrupt data
RANGE_SHIFT, RANGE_MASK = 14, 0b111
LOGIC_SHIFT = 24
DEFAULT_TIMESTAMP_CHANNEL = 0  # logic input D0 wired to the DUT's timestamp GPIO
VOLTAGE_RANGE_MV = (800, 5000)  # what the source meter can supply
READ_TIMEOUT_S = 0.1  # pyserial timeout handed to PPK2_API
POLL_INTERVAL_S = 0.002  # reader thread sleep between get_data() calls
DATA_TIMEOUT_S = 2.0  # no byte for this long while measuring = the stream stopped
STOP_DRAIN_S = 0.1  # after AVERAGE_STOP, keep reading until the port is quiet this long
STOP_DRAIN_MAX_S = 2.0  # ... but never longer than this
PRODUCT_STRING = "PPK2"


def _api_class():
    """Import lazily so that ``tinykit`` imports without ppk2-api installed."""
    try:
        from ppk2_api.ppk2_api import PPK2_API
    except ImportError as err:  # pragma: no cover - it is a dependency
        raise PowerMonitorError(
            "the ppk2-api package is not installed", hint="pip install ppk2-api==0.9.2"
        ) from err
    return PPK2_API


def find_ppk2() -> str:
    """The single attached PPK2's port, found the way ppk2-api lists devices."""
    devices = _api_class().list_devices()
    if not devices:
        raise PowerMonitorError(
            f"no PPK2 found: looked for a serial port whose USB product string is '{PRODUCT_STRING}' "
            "(ppk2-api's list_devices)",
            hint="plug the PPK2 in (the USB port marked USB DATA/POWER) or name its port: ppk2:/dev/ttyACM0",
        )
    if len(devices) > 1:
        raise PowerMonitorError(
            f"{len(devices)} PPK2s found ({', '.join(devices)}); say which one",
            hint=f"use ppk2:{devices[0]}",
        )
    return devices[0]


def check_words(raw: bytes) -> np.ndarray:
    """The stream as uint32 words; PowerMonitorError if it is cut mid-word or has corrupt ranges."""
    if len(raw) % WORD_BYTES:
        raise PowerMonitorError(
            f"the PPK2 stream ended mid-sample ({len(raw) % WORD_BYTES} stray bytes): bytes were lost",
            hint="no results were kept from this acquisition",
        )
    words = np.frombuffer(raw, dtype="<u4")
    ranges = (words >> RANGE_SHIFT) & RANGE_MASK
    bad = np.nonzero(ranges > MAX_RANGE)[0]
    if bad.size:
        raise PowerMonitorError(
            f"garbled samples from the PPK2: {bad.size} of {words.size} carry an impossible "
            f"measurement range (first at sample {int(bad[0])})",
            hint="no results were kept from this acquisition",
        )
    return words


def falling_edges(words: np.ndarray, channel: int) -> list[int]:
    """Sample indices where the logic input goes from 1 to 0."""
    level = (words >> (LOGIC_SHIFT + channel)) & 1
    return [int(i) + 1 for i in np.nonzero((level[:-1] == 1) & (level[1:] == 0))[0]]


class PPK2(PowerMonitor):
    """PPK2 in source-meter mode: it supplies the DUT and measures what it draws."""

    kind = "ppk2"

    def __init__(
        self, port: str, voltage_mv: int = 3300, timestamp_channel: int = DEFAULT_TIMESTAMP_CHANNEL
    ) -> None:
        lo, hi = VOLTAGE_RANGE_MV
        if not lo <= voltage_mv <= hi:
            raise PowerMonitorError(f"the PPK2 supplies {lo}-{hi} mV; {voltage_mv} mV was asked for")
        if not 0 <= timestamp_channel <= 7:
            raise PowerMonitorError(f"the PPK2 has logic inputs D0-D7; D{timestamp_channel} does not exist")
        super().__init__(port, voltage_mv)
        self.timestamp_channel = timestamp_channel
        self._api = None
        self._buffer = bytearray()
        self._error: str | None = None
        self._last_data = 0.0
        self._lock = threading.Lock()
        self._running = False
        self._reader: threading.Thread | None = None

    # -- connection -------------------------------------------------------------------------
    def open(self) -> None:
        if self.port == "auto":
            self.port = find_ppk2()
        try:
            self._api = _api_class()(self.port, timeout=READ_TIMEOUT_S, write_timeout=READ_TIMEOUT_S)
        except (serial.SerialException, OSError, ValueError) as err:
            raise PowerMonitorError(f"cannot open the PPK2 at {self.port}: {err}") from err

    def configure(self) -> None:
        api = self._require()
        try:
            calibrated = api.get_modifiers()
        except (serial.SerialException, OSError, UnicodeDecodeError) as err:
            raise PowerMonitorError(f"the PPK2 at {self.port} failed while sending its calibration: {err}") from err
        if not calibrated:
            raise PowerMonitorError(
                f"the device at {self.port} did not send PPK2 calibration metadata",
                hint="is this port really a PPK2? unplug and replug it if it is",
            )
        api.use_source_meter()
        api.set_source_voltage(self.voltage_mv)
        api.toggle_DUT_power("ON")

    def identity(self) -> dict[str, str]:
        mods = self._require().modifiers
        return {
            "kind": self.kind,
            "port": self.port,
            "hardware": str(mods.get("HW")),
            "calibrated": str(mods.get("Calibrated")),
            "mode": "source meter",
            "voltage_mv": str(self.voltage_mv),
            "timestamp_channel": f"D{self.timestamp_channel}",
        }

    def close(self) -> None:
        self._stop_reader()
        if self._api is None:
            return
        try:
            self._api.stop_measuring()
            self._api.toggle_DUT_power("OFF")
            self._api.ser.close()
        except (serial.SerialException, OSError):
            pass
        self._api = None

    def _require(self):
        if self._api is None:
            raise PowerMonitorError("the PPK2 is not open; use `with open_monitor(...) as mon`")
        return self._api

    # -- acquisition ------------------------------------------------------------------------
    def _acquire_start(self) -> None:
        api = self._require()
        self._buffer = bytearray()
        self._error = None
        self._last_data = time.monotonic()
        try:
            api.ser.reset_input_buffer()  # stale words from an earlier acquisition are not this one's
        except (serial.SerialException, OSError) as err:
            raise PowerMonitorError(f"the PPK2 at {self.port} disconnected ({err})") from err
        api.start_measuring()
        self._running = True
        self._reader = threading.Thread(target=self._read_loop, name="ppk2-reader", daemon=True)
        self._reader.start()

    def _acquire_stop(self) -> Acquisition:
        api = self._require()
        if self._reader is None:
            raise PowerMonitorError("stop() without start(): no acquisition is running")
        api.stop_measuring()
        self._drain()
        self._stop_reader()
        if self._error:
            raise PowerMonitorError(self._error, hint="no results were kept from this acquisition")
        words = check_words(bytes(self._buffer))
        if words.size == 0:
            raise PowerMonitorError("the PPK2 acquisition held no samples")
        samples_ua, _bits = api.get_samples(bytes(self._buffer))
        if len(samples_ua) != words.size:
            raise PowerMonitorError("ppk2-api could not convert every PPK2 sample (values out of range)")
        joules_per_ua = 1e-6 * self.voltage_mv / 1000 / SAMPLE_RATE_HZ
        energy = np.asarray(samples_ua, dtype=np.float64) * joules_per_ua
        return Acquisition(energy, falling_edges(words, self.timestamp_channel), 1.0 / SAMPLE_RATE_HZ)

    def _drain(self) -> None:
        """Let bytes already in flight after AVERAGE_STOP arrive before the reader stops."""
        start = time.monotonic()
        while time.monotonic() - start < STOP_DRAIN_MAX_S and self._error is None:
            with self._lock:
                quiet = time.monotonic() - self._last_data
            if quiet >= STOP_DRAIN_S:
                return
            time.sleep(POLL_INTERVAL_S)

    def _stop_reader(self) -> None:
        self._running = False
        if self._reader is not None:
            self._reader.join(timeout=1.0)
            self._reader = None

    def _read_loop(self) -> None:
        api = self._api
        while self._running:
            try:
                data = api.get_data()
            except (serial.SerialException, OSError) as err:
                self._error = f"the PPK2 at {self.port} disconnected during the acquisition ({err})"
                return
            now = time.monotonic()
            with self._lock:
                if data:
                    self._buffer.extend(data)
                    self._last_data = now
                elif now - self._last_data > DATA_TIMEOUT_S:
                    self._error = f"the PPK2 at {self.port} sent no data for {DATA_TIMEOUT_S:g} s while measuring"
                    return
            time.sleep(POLL_INTERVAL_S)
