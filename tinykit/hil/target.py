"""Where a board under test answers (kept free of heavy imports: the pytest plugin loads it at start)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A board id and where it is: started by tinykit (emulated), at ``port``, or on a labgrid ``place``."""

    board: str
    port: str | None = None
    place: str | None = None
    coordinator: str | None = None  # labgrid coordinator (else $LG_COORDINATOR)

    @property
    def label(self) -> str:
        return self.board + (f"@{self.place}" if self.place else "")
