"""Error hierarchy.

Every failure a user can cause (bad model, missing tool, board that does not fit, garbled serial
line) raises a subclass of :class:`TinykitError`. The CLI turns these into one ``error:`` line plus
an optional hint and exit code 2; anything else escaping is a bug in tinykit.
"""

from __future__ import annotations


class TinykitError(Exception):
    """Base class for every error the user can act on."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ModelFormatError(TinykitError):
    """The file is not a readable, well-formed model."""


class UnsupportedOpError(TinykitError):
    """The model uses an op or option tinykit cannot run."""


class QuantizationError(TinykitError):
    """The model is not full-integer, or its int8 conversion is unhealthy."""


class PlanError(TinykitError):
    """The memory planner could not place the tensors."""


class OutputPathError(TinykitError):
    """Where a command would write is unusable: a file where a folder goes (or the reverse), an
    earlier artefact without --force, a folder that cannot be written."""


class CodegenError(TinykitError):
    """C generation failed (bad name, output directory in the way)."""


class BoardError(TinykitError):
    """A board file is missing or invalid."""


class BoardFitError(TinykitError):
    """The model (or firmware) does not fit the board's RAM or flash."""


class ToolMissingError(TinykitError):
    """An external program (compiler, emulator, flasher) is not installed."""


class BuildError(TinykitError):
    """Compiling or linking firmware failed."""


class FlashError(TinykitError):
    """Flashing or starting the board failed."""


class DeviceError(TinykitError):
    """The device did not answer as the protocol requires (timeout, garbled line, reset)."""


class PowerMonitorError(TinykitError):
    """A power monitor failed or sent data that cannot be trusted."""


class DataError(TinykitError):
    """A dataset is missing, empty, or malformed."""


class TrainingError(TinykitError):
    """Training, distillation or pruning could not proceed."""
