"""Energy per inference estimated from cycles and the board's datasheet power model.

No monitor measures anything here: the figure is the board's active current at its clock (from the
datasheet the board file cites) times its supply voltage times the time the cycles take. It is
always labelled ``estimate`` and carries its source, so it can never pass for a measurement.
It ignores everything a datasheet's "run mode, all peripherals off" figure leaves out (flash
wait-state effects, peripherals, the debug probe, regulator losses), so read it as an order of
magnitude and a sanity check, not a result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tinykit.errors import BoardError, PowerMonitorError

POWER_FIELDS = ("active_current_ma", "supply_voltage_v", "datasheet")


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy per inference from the board's power model, never measured."""

    energy_uj: float
    power_mw: float
    latency_s: float
    cycles: int
    board: str
    source: str  # the datasheet the board file cites
    label: str = "estimate"
    cycles_note: str = ""  # where the cycle count came from, if it is itself an assumption

    def to_dict(self) -> dict:
        """JSON-ready, for results files."""
        return asdict(self)


def _power_model(board: Any) -> Any:
    power = getattr(board, "power", None)
    board_id = getattr(board, "id", "?")
    missing = [f for f in POWER_FIELDS if power is None or getattr(power, f, None) in (None, "")]
    if missing:
        raise BoardError(
            f"board {board_id!r} has no power model ({', '.join(missing)} missing)",
            hint="add a power: section (active_current_ma, supply_voltage_v, sleep_current_ua, datasheet)",
        )
    if power.active_current_ma <= 0 or power.supply_voltage_v <= 0 or board.clock_hz <= 0:
        raise BoardError(f"board {board_id!r}: power model and clock must be positive")
    return power


def estimate_energy(board: Any, cycles: int, cycles_note: str = "") -> EnergyEstimate:
    """Energy of one inference of ``cycles`` core cycles on ``board`` (a tinykit Board).

    ``board.power.active_current_ma`` is the datasheet's run current at ``board.clock_hz``; the
    energy is that current times ``supply_voltage_v`` times ``cycles / clock_hz``.
    """
    if cycles <= 0:
        raise PowerMonitorError(f"cannot estimate energy for {cycles} cycles per inference")
    power = _power_model(board)
    latency_s = cycles / board.clock_hz
    power_mw = power.active_current_ma * power.supply_voltage_v
    return EnergyEstimate(
        energy_uj=power_mw * latency_s * 1e3,
        power_mw=power_mw,
        latency_s=latency_s,
        cycles=int(cycles),
        board=str(getattr(board, "id", "?")),
        source=str(power.datasheet),
        cycles_note=cycles_note,
    )
