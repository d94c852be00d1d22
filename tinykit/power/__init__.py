"""Power monitors and energy per inference.

API (what ``tinykit measure --power KIND:PORT`` calls)::

    from tinykit.power import open_monitor, measure_energy, estimate_energy

    # Open the monitor BEFORE connecting to the DUT: configuring it powers the DUT on (a reset).
    with open_monitor("lpm01a:/dev/ttyACM1", voltage_mv=3300) as mon:   # or "ppk2:auto"
        ...connect to the DUT, load its input...
        summary = measure_energy(mon, run_inferences=lambda: dev.infer(n, 0), runs=5,
                                 inferences_per_run=n)
    summary.energy_uj        # median µJ per inference over the runs (label "measured")
    summary.energy_uj_min / energy_uj_max / spread_pct
    summary.avg_power_mw     # median average power inside the windows
    summary.idle_power_mw    # mean power outside the windows (None if there was none)
    summary.to_dict()        # JSON-ready

    est = estimate_energy(board, cycles_per_inference)    # no monitor: always label "estimate"
    est.energy_uj, est.power_mw, est.latency_s, est.source (the board's datasheet), est.label

Lower level: ``mon.start()``; run inferences; ``windows = mon.stop()`` -> list of
:class:`EnergyWindow` (energy_uj, duration_s, avg_power_mw), one per pair of falling edges of the
DUT's timestamp pin (start, end of a run); then ``mon.idle_power_mw``. ``summarise_windows`` turns
windows into an :class:`EnergySummary`. ``mon.identity()`` says what the device is.

Every failure (bad spec, no device, rejected command, garbled or dropped samples, buffer overrun,
disconnect, edge count not matching the runs) raises :class:`tinykit.errors.PowerMonitorError`;
a failed acquisition yields no windows at all, so a caller never writes partial results.

The LPM01A and PPK2 drivers have been tested only against the protocol simulators in ``tests/``
(``sim_lpm01a.py``, ``sim_ppk2.py``); see docs/power.md.
"""

from __future__ import annotations

from tinykit.power.base import Acquisition, EnergyWindow, PowerMonitor
from tinykit.power.estimate import EnergyEstimate, estimate_energy
from tinykit.power.session import (
    DEFAULT_VOLTAGE_MV,
    KINDS,
    EnergySummary,
    measure_energy,
    open_monitor,
    parse_monitor_spec,
    summarise_windows,
)

__all__ = [
    "DEFAULT_VOLTAGE_MV",
    "KINDS",
    "Acquisition",
    "EnergyEstimate",
    "EnergySummary",
    "EnergyWindow",
    "PowerMonitor",
    "estimate_energy",
    "measure_energy",
    "open_monitor",
    "parse_monitor_spec",
    "summarise_windows",
]
