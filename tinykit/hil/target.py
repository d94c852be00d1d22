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


def place_target(text: str, boards: list[str], coordinator: str | None) -> Target:
    """``[BOARD=]PLACE`` as a target; without ``BOARD=`` the one board given is meant, else ValueError."""
    board, sep, name = text.rpartition("=")
    if not sep:
        if len(boards) != 1:
            raise ValueError(f"{text}: which board is it?")
        board, name = boards[0], text
    return Target(board=board, place=name, coordinator=coordinator)
