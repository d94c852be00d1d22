"""What every power monitor driver shares: the interface, energy windows and their computation.

A monitor streams samples at a fixed rate and marks the instants where the DUT's timestamp pin
falls. Drivers reduce their own wire format to two things: the energy of every sample period (J)
and the sample indices of the falling edges. Everything after that (pairing edges into inference
windows, idle power) happens here, once, so both monitors report the same quantity.
"""

from __future__ import annotations

import abc
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from tinykit.errors import PowerMonitorError

# Samples this close to an edge are left out of the idle power: the DUT is waking or settling.
IDLE_GUARD_SAMPLES = 2


@dataclass(frozen=True)
class EnergyWindow:
    """Energy between one pair of the DUT's timestamp edges (start of run, end of run)."""

    energy_uj: float
    duration_s: float
    avg_power_mw: float
    samples: int = 0


@dataclass(frozen=True)
class Acquisition:
    """One acquisition reduced to what the window computation needs.

    ``sample_energy_j[i]`` is the energy of sample period ``i``; an edge at index ``k`` means the
    pin fell during period ``k``, so the window ``[k0, k1)`` holds the periods from one edge up to
    (not including) the next.
    """

    sample_energy_j: Sequence[float]
    edges: Sequence[int]
    sample_period_s: float


def windows_from_acquisition(acq: Acquisition) -> list[EnergyWindow]:
    """Pair edges (0,1), (2,3), ... into windows; an odd count means a run was cut off."""
    edges = list(acq.edges)
    if len(edges) % 2:
        raise PowerMonitorError(
            f"the DUT's timestamp pin gave {len(edges)} falling edges; every run needs two "
            "(start and end), so one window is incomplete",
            hint="check the timestamp GPIO wiring and that the firmware is built in energy mode",
        )
    if any(b < a for a, b in itertools.pairwise(edges)):
        raise PowerMonitorError("timestamp edges arrived out of order; the acquisition is corrupt")
    windows = []
    for start, end in zip(edges[0::2], edges[1::2], strict=True):
        energy_j = math.fsum(acq.sample_energy_j[start:end])
        duration = (end - start) * acq.sample_period_s
        if duration <= 0:
            raise PowerMonitorError(
                "two timestamp edges fell within one sample period; the window is shorter than the "
                "monitor's sampling resolution",
                hint="run more inferences per window or raise the monitor's sampling rate",
            )
        windows.append(
            EnergyWindow(
                energy_uj=energy_j * 1e6,
                duration_s=duration,
                avg_power_mw=energy_j / duration * 1e3,
                samples=end - start,
            )
        )
    return windows


def idle_power_mw(acq: Acquisition) -> float | None:
    """Mean power over the samples outside every window, away from the edges (None if none)."""
    energy = np.asarray(acq.sample_energy_j, dtype=np.float64)
    idle = np.ones(energy.shape, dtype=bool)
    edges = list(acq.edges)
    for start, end in zip(edges[0::2], edges[1::2], strict=False):
        idle[max(0, start - IDLE_GUARD_SAMPLES) : end + IDLE_GUARD_SAMPLES] = False
    count = int(idle.sum())
    if count == 0:
        return None
    return float(energy[idle].sum()) / (count * acq.sample_period_s) * 1e3


class PowerMonitor(abc.ABC):
    """One power monitor: supplies the DUT, samples its energy, reports windows between edges.

    Use as a context manager: entering connects and configures (supply voltage, sampling,
    edge detection) and powers the DUT; leaving powers it off and releases the device even after
    an error. ``start()``/``stop()`` bracket one acquisition; ``stop()`` returns its windows and
    sets :attr:`idle_power_mw`. Every failure is a :class:`PowerMonitorError`, and a failed
    acquisition returns nothing at all (never a partial list).
    """

    kind: str = "?"

    def __init__(self, port: str, voltage_mv: int) -> None:
        self.port = port
        self.voltage_mv = voltage_mv
        self.idle_power_mw: float | None = None
        self.last_acquisition: Acquisition | None = None

    def __enter__(self) -> PowerMonitor:
        self.open()
        try:
            self.configure()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abc.abstractmethod
    def open(self) -> None:
        """Connect to the device (no configuration yet)."""

    @abc.abstractmethod
    def configure(self) -> None:
        """Set supply voltage, sampling and edge detection; power the DUT."""

    @abc.abstractmethod
    def identity(self) -> dict[str, str]:
        """What the device says it is (model, id, firmware version, state) for `power check`."""

    @abc.abstractmethod
    def _acquire_start(self) -> None:
        """Start streaming samples."""

    @abc.abstractmethod
    def _acquire_stop(self) -> Acquisition:
        """Stop streaming; return the whole acquisition or raise PowerMonitorError."""

    @abc.abstractmethod
    def close(self) -> None:
        """Power the DUT off and release the device; never raises."""

    def start(self) -> None:
        """Begin one acquisition; the DUT's timestamp edges are recorded from now on."""
        self.idle_power_mw = None
        self.last_acquisition = None
        self._acquire_start()

    def stop(self) -> list[EnergyWindow]:
        """End the acquisition and return one window per pair of timestamp edges."""
        acq = self._acquire_stop()
        windows = windows_from_acquisition(acq)
        self.last_acquisition = acq
        self.idle_power_mw = idle_power_mw(acq)
        return windows
