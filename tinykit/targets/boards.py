"""Board files: the search path, inheritance between boards, lookup, fit estimate, attachment.

Boards are data (see DESIGN.md): the schema is :mod:`tinykit.targets.schema`. Board files are
found on a search path: directories given with ``tinykit --boards-dir DIR``, then the directories
of ``$TINYKIT_BOARDS_PATH`` (separated like ``$PATH``), then the boards shipped with tinykit; the
first file named ``<id>.yaml`` wins. A user board may start from another one (``extends:
nucleo-l4r5zi``) and change only what differs (clock, memory, pins): mappings are merged key by
key, everything else is replaced, and the result is validated like any board file. Where a board
is attached (serial port, probe id) is per-machine configuration and lives in a user file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from tinykit.errors import BoardError
from tinykit.resources import boards_dir
from tinykit.targets.clocks import reset_hz
from tinykit.targets.schema import Board, parse_board

__all__ = ["CLOCK_SETTINGS", "DEFAULT_BOARD", "Board", "BoardFile", "FitEstimate", "attachment", "board_at_clock",
           "board_file", "board_ids",
           "board_summary", "estimate_fit", "list_boards", "load_board", "parse_board", "search_path",
           "set_boards_dirs"]

DEFAULT_BOARD = "qemu-m4"
USER_CONFIG_ENV = "TINYKIT_CONFIG"
USER_CONFIG_PATH = Path("~/.config/tinykit/boards.yaml")
BOARDS_PATH_ENV = "TINYKIT_BOARDS_PATH"
EXTENDS_KEY = "extends"
MAX_EXTENDS_DEPTH = 8
CLOCK_SETTINGS = ("board", "reset")  # `tinykit build --clock`: the board file's clock, or the chip's reset clock

# Named reserves used by estimate_fit before anything is compiled: the firmware's own code
# (protocol loop, UART driver, startup, libc pieces; 11.4 KB on qemu-m4, 13.5 KB on qemu-m0 with
# arm-none-eabi-gcc 12.2 -O2, rounded up) and its globals. The firmware also keeps a copy of the
# model input (the `db load` buffer), which estimate_fit cannot see; build_firmware checks the ELF.
RUNTIME_FLASH_RESERVE = 14 * 1024
RUNTIME_RAM_RESERVE = 1 * 1024

_cli_dirs: tuple[Path, ...] = ()  # from --boards-dir


@dataclass(frozen=True)
class FitEstimate:
    """Whether a model is likely to fit, before compiling anything (reserves are named constants)."""

    fits: bool
    ram_needed: int
    ram_available: int
    flash_needed: int
    flash_available: int


@dataclass(frozen=True)
class BoardFile:
    """Where a board came from: its file, whether tinykit ships it, and the board it extends."""

    id: str
    path: Path
    packaged: bool
    extends: str | None = None

    @property
    def origin(self) -> str:
        base = "tinykit" if self.packaged else str(self.path)
        return base + (f" (extends {self.extends})" if self.extends else "")


def set_boards_dirs(dirs: list[str | os.PathLike]) -> None:
    """Directories of user board files searched first (``tinykit --boards-dir``)."""
    global _cli_dirs
    paths = tuple(Path(d).expanduser() for d in dirs)
    for d in paths:
        if not d.is_dir():
            raise BoardError(f"boards directory {d} does not exist", hint="--boards-dir takes a folder of *.yaml")
    _cli_dirs = paths


def search_path() -> list[Path]:
    """User directories first (--boards-dir, then $TINYKIT_BOARDS_PATH), the shipped boards last."""
    env = [Path(p).expanduser() for p in os.environ.get(BOARDS_PATH_ENV, "").split(os.pathsep) if p]
    for d in env:
        if not d.is_dir():
            raise BoardError(f"{BOARDS_PATH_ENV} names {d}, which is not a directory")
    return [*_cli_dirs, *env, boards_dir()]


def _files() -> dict[str, Path]:
    """Board id -> file, the first on the search path winning."""
    found: dict[str, Path] = {}
    for d in search_path():
        for path in sorted(d.glob("*.yaml")):
            found.setdefault(path.stem, path.resolve())
    return found


def board_ids() -> list[str]:
    """Ids of every board on the search path, sorted."""
    return sorted(_files())


def _unknown(board_id: str) -> BoardError:
    return BoardError(f"unknown board {board_id!r}",
                      hint=f"known boards: {', '.join(board_ids())} (see `tinykit boards`; "
                           f"your own with --boards-dir DIR or ${BOARDS_PATH_ENV})")


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise BoardError(f"cannot read board file {path}: {err}") from None
    if not isinstance(data, dict):
        raise BoardError(f"board file {path} is not a mapping")
    return data


def _merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``: nested mappings merged key by key, anything else replaced."""
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) \
            else value
    return merged


def _resolved_mapping(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """The board file's mapping with what it extends merged in (cycles and unknown bases are errors)."""
    data = _read_yaml(path)
    parent = data.pop(EXTENDS_KEY, None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise BoardError(f"board file {path}: `{EXTENDS_KEY}` must name a board id, not {parent!r}")
    files = _files()
    base_path = files.get(parent)
    if base_path == path:  # a user board that shadows the one it extends: take the next on the path
        base_path = next((p for d in search_path() if (p := (d / f"{parent}.yaml").resolve()) != path
                          and p.is_file()), None)
    if base_path is None and parent == path.stem:
        raise BoardError(f"board file {path} extends itself", hint=f"name the board it starts from, not {parent!r}")
    if base_path is None:
        raise BoardError(f"board file {path} extends unknown board {parent!r}", hint=_unknown(parent).hint)
    if base_path in chain or len(chain) >= MAX_EXTENDS_DEPTH:
        raise BoardError(f"board file {path}: `{EXTENDS_KEY}` goes round in a circle ({parent!r})")
    return _merge(_resolved_mapping(base_path, (*chain, path)), data)


def _load_path(path: Path) -> Board:
    return _load_cached(path, tuple(search_path()))


@lru_cache(maxsize=64)
def _load_cached(path: Path, search: tuple[Path, ...]) -> Board:
    """One validated board per file and search path (what it extends depends on the path)."""
    board = parse_board(_resolved_mapping(path), str(path))
    if board.id != path.stem:
        raise BoardError(f"board file {path} declares id {board.id!r}; it must match the file name")
    return board


def board_file(board_id: str) -> BoardFile:
    """Where board ``board_id`` comes from on the search path."""
    path = _files().get(board_id)
    if path is None:
        raise _unknown(board_id)
    parent = _read_yaml(path).get(EXTENDS_KEY)
    return BoardFile(board_id, path, path.parent == boards_dir().resolve(), parent)


def load_board(board: str | Board) -> Board:
    """Load a board by id (``qemu-m4``) or by path to a YAML file; BoardError lists the known ids."""
    if isinstance(board, Board):
        return board
    path = Path(board)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return _load_path(path.resolve())
    candidate = _files().get(board)
    if candidate is None:
        raise _unknown(board)
    return _load_path(candidate)


def board_at_clock(board: Board, setting: str = "board") -> Board:
    """The board as it runs with ``setting``: its own clock, or its reset clock (low-power runs).

    At the reset clock the power model's run current is the datasheet's figure for that clock
    (``reset_current_ma``), else the board's scaled by the clock ratio (and the note says so).
    """
    if setting not in CLOCK_SETTINGS:
        raise BoardError(f"unknown clock setting {setting!r}", hint=f"use one of: {', '.join(CLOCK_SETTINGS)}")
    if setting == "board" or board.clock is None or board.clock.speed == "reset":
        return board
    data = board.model_dump()
    hz = reset_hz(board.platform, board.clock_hz)
    power = data["power"]
    if power["reset_current_ma"] is None:
        power["active_current_ma"] *= hz / board.clock_hz
        power["note"] = f"{power.get('note') or ''} (run current scaled linearly to {hz / 1e6:g} MHz)".strip()
    else:
        power["active_current_ma"] = power["reset_current_ma"]
    data.update(clock_hz=hz, clock={**data["clock"], "speed": "reset"})
    return parse_board(data, f"{board.id} at its reset clock")


def list_boards() -> list[Board]:
    """Every board on the search path, sorted by id."""
    return [load_board(i) for i in board_ids()]


def estimate_fit(board: Board | str, arena_bytes: int, weight_bytes: int) -> FitEstimate:
    """Rough fit check (arena + stack + runtime vs RAM, weights + runtime vs flash).

    Excludes the firmware's copy of the input (input bytes); the build's ELF check is exact.
    """
    b = load_board(board)
    ram_needed = arena_bytes + b.stack_bytes + RUNTIME_RAM_RESERVE
    flash_needed = weight_bytes + RUNTIME_FLASH_RESERVE
    ram_avail, flash_avail = b.memory.ram.size, b.memory.flash.size
    fits = ram_needed <= ram_avail and flash_needed <= flash_avail
    return FitEstimate(fits, ram_needed, ram_avail, flash_needed, flash_avail)


@dataclass(frozen=True)
class Attachment:
    """Where a board is connected on this machine (from the user config file or --port)."""

    port: str | None = None
    probe: str | None = None
    drive: str | None = None  # mounted UF2 drive


def user_config_path() -> Path:
    return Path(os.environ.get(USER_CONFIG_ENV) or USER_CONFIG_PATH).expanduser()


def attachment(board_id: str, port: str | None = None) -> Attachment:
    """Per-machine attachment: ``--port`` wins over the user config file's entry for the board."""
    path = user_config_path()
    entry: dict = {}
    if path.exists():
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise BoardError(f"cannot read tinykit config {path}: {err}") from None
        if not isinstance(data, dict):
            raise BoardError(f"tinykit config {path} must map board ids to {{port, probe, drive}}")
        entry = data.get(board_id) or {}
        unknown = set(entry) - {"port", "probe", "drive"} if isinstance(entry, dict) else {"<not a mapping>"}
        if unknown:
            raise BoardError(f"tinykit config {path}: entry {board_id!r} has unknown keys {sorted(unknown)}")
    return Attachment(port=port or entry.get("port"), probe=entry.get("probe"), drive=entry.get("drive"))


def board_summary(b: Board) -> dict:
    """JSON-ready description used by `tinykit boards --json`."""
    source = board_file(b.id)
    return {
        "id": b.id,
        "source": "tinykit" if source.packaged else str(source.path),
        "extends": source.extends,
        "name": b.name,
        "cpu": b.cpu,
        "clock_hz": b.clock_hz,
        "clock_tree": b.clock_plan.summary,
        "emulated": b.emulated,
        "emulator": b.emulator,
        "flash": {"origin": b.memory.flash.origin, "size": b.memory.flash.size},
        "ram": {"origin": b.memory.ram.origin, "size": b.memory.ram.size},
        "uart": {"kind": b.uart.kind, "base": b.uart.base, "baud": b.uart.baud},
        "cycle_counter": b.cycle_counter,
        "energy_gpio": b.energy_gpio,
        "flasher": b.flasher.kind,
        "power": b.power.model_dump(),
    }
