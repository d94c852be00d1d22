"""Choosing a monitor from ``KIND:PORT``, sequencing a measurement, summarising its windows."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from tinykit.errors import PowerMonitorError
from tinykit.power.base import EnergyWindow, PowerMonitor

DEFAULT_VOLTAGE_MV = 3300
KINDS = ("lpm01a", "ppk2")
SPEC_EXAMPLES = "lpm01a:/dev/ttyACM1, ppk2:auto, ppk2:/dev/ttyACM0"


def parse_monitor_spec(spec: str) -> tuple[str, str]:
    """``"lpm01a:/dev/ttyACM1"`` -> ``("lpm01a", "/dev/ttyACM1")``; the port may hold colons (URLs)."""
    kind, sep, port = spec.strip().partition(":")
    kind = kind.strip().lower()
    if not sep or not kind:
        raise PowerMonitorError(
            f"power monitor {spec!r} is not KIND:PORT", hint=f"for example {SPEC_EXAMPLES}"
        )
    if kind not in KINDS:
        raise PowerMonitorError(
            f"unknown power monitor kind {kind!r}; known kinds: {', '.join(KINDS)}",
            hint=f"for example {SPEC_EXAMPLES}",
        )
    if not port.strip():
        raise PowerMonitorError(
            f"power monitor {spec!r} names no port",
            hint="ppk2:auto finds a PPK2; an LPM01A needs its port, e.g. lpm01a:/dev/ttyACM1",
        )
    if port.strip() == "auto" and kind != "ppk2":
        raise PowerMonitorError(f"{kind}:auto is not supported; name the {kind.upper()}'s port")
    return kind, port.strip()


def open_monitor(spec: str, voltage_mv: int = DEFAULT_VOLTAGE_MV) -> PowerMonitor:
    """The monitor named by ``spec``, not yet connected: use it as ``with open_monitor(...) as mon``."""
    kind, port = parse_monitor_spec(spec)
    if kind == "lpm01a":
        from tinykit.power.lpm01a import LPM01A

        return LPM01A(port, voltage_mv)
    from tinykit.power.ppk2 import PPK2

    return PPK2(port, voltage_mv)


@dataclass(frozen=True)
class EnergySummary:
    """Energy per inference over runs, as `measure` reports it (label ``measured``)."""

    runs: int
    inferences_per_run: int
    energy_uj: float  # median energy per inference
    energy_uj_min: float
    energy_uj_max: float
    spread_pct: float  # (max - min) / median, in percent
    avg_power_mw: float  # median average power inside the windows
    window_s: float  # median window length (all inferences of one run)
    idle_power_mw: float | None
    monitor: str = ""
    label: str = "measured"
    per_run_energy_uj: list[float] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready, for results files."""
        return asdict(self)


def summarise_windows(
    windows: Sequence[EnergyWindow],
    inferences_per_run: int = 1,
    idle_power_mw: float | None = None,
    monitor: str = "",
) -> EnergySummary:
    """Median and spread of energy per inference over the windows (one window per run)."""
    if not windows:
        raise PowerMonitorError("no energy windows to summarise: the DUT's timestamp pin never fell")
    if inferences_per_run < 1:
        raise PowerMonitorError(f"inferences per run must be at least 1, not {inferences_per_run}")
    per_inf = [w.energy_uj / inferences_per_run for w in windows]
    median = statistics.median(per_inf)
    return EnergySummary(
        runs=len(windows),
        inferences_per_run=inferences_per_run,
        energy_uj=median,
        energy_uj_min=min(per_inf),
        energy_uj_max=max(per_inf),
        spread_pct=(max(per_inf) - min(per_inf)) / median * 100 if median else 0.0,
        avg_power_mw=statistics.median(w.avg_power_mw for w in windows),
        window_s=statistics.median(w.duration_s for w in windows),
        idle_power_mw=idle_power_mw,
        monitor=monitor,
        per_run_energy_uj=per_inf,
    )


def measure_energy(
    monitor: PowerMonitor,
    run_inferences: Callable[[], None],
    runs: int,
    inferences_per_run: int = 1,
) -> EnergySummary:
    """Start one acquisition, call ``run_inferences`` ``runs`` times, stop, summarise.

    ``run_inferences`` must make the DUT run its inferences and return once they are done (e.g.
    ``infer N 0`` and wait for ``m-infer-done``); the DUT's firmware drops its timestamp pin at the
    start and at the end, so every call must give exactly one window. If the callback raises, the
    acquisition is stopped and its data dropped before the error propagates.
    """
    if runs < 1:
        raise PowerMonitorError(f"runs must be at least 1, not {runs}")
    monitor.start()
    try:
        for _ in range(runs):
            run_inferences()
    except BaseException:
        with contextlib.suppress(PowerMonitorError):  # the callback's error is the one to see
            monitor.stop()
        raise
    windows = monitor.stop()
    if len(windows) != runs:
        raise PowerMonitorError(
            f"{runs} runs gave {len(windows)} energy windows: the DUT's timestamp edges do not "
            "match the inferences the host started",
            hint="is the firmware built in energy mode, and is its timestamp pin wired to the monitor?",
        )
    return summarise_windows(
        windows, inferences_per_run, monitor.idle_power_mw, monitor=f"{monitor.kind}:{monitor.port}"
    )
