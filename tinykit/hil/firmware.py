"""Firmware for a model on a board, built once and reused: the HIL build cache.

A test session, a `tinykit check` run and its parallel workers all ask for "this model on this board";
the build is keyed by what determines its bytes (model sha256, board id, tinykit version, input
conversion) so a second session, or a second worker, flashes the same firmware without rebuilding.
Builds of one key are serialised by a file lock: two pytest-xdist workers never compile into the same
directory at once. ``$TINYKIT_CACHE`` moves the cache (default ``~/.cache/tinykit``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile

from tinykit import __version__, oracle
from tinykit.errors import BuildError
from tinykit.firmware.build import ELF_NAME, build_firmware
from tinykit.firmware.record import read_build_record
from tinykit.targets.boards import Board, load_board

CACHE_ENV = "TINYKIT_CACHE"
CACHE_SUBDIR = "firmware"
# Seconds to wait for another process building the same firmware.
LOCK_TIMEOUT_S = 1800.0
LOCK_POLL_S = 0.2


@dataclass(frozen=True)
class Firmware:
    """A built firmware and the figures that do not need a board: sizes and hashes."""

    dir: Path
    board: str
    model: Path
    model_sha256: str
    image_sha256: str  # of the bytes that are flashed (PT_LOAD segments), not of the ELF's debug info
    flash_bytes: int
    ram_bytes: int
    toolchain: str | None
    cached: bool

    def to_dict(self) -> dict[str, object]:
        return {"firmware_dir": str(self.dir), "firmware_sha256": self.image_sha256,
                "model_sha256": self.model_sha256, "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "toolchain": self.toolchain, "firmware_cached": self.cached}


def cache_root() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinykit"


def cache_key(model_sha256: str, board_id: str) -> str:
    """Directory name of one build: readable prefix, and every input that changes the bytes."""
    return f"{board_id}-{model_sha256[:16]}-tinykit{__version__}"


def image_sha256(elf: Path) -> str:
    """sha256 over the loadable segments (address + bytes): what a flasher writes, build-path free."""
    digest = hashlib.sha256()
    with open(elf, "rb") as fh:
        for seg in ELFFile(fh).iter_segments():
            if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]:
                digest.update(int(seg["p_paddr"]).to_bytes(4, "little"))
                digest.update(seg.data()[: seg["p_filesz"]])
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        end = time.monotonic() + LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    raise BuildError(f"another process has been building {path.stem} for "
                                     f"{LOCK_TIMEOUT_S:.0f} s", hint=f"remove {path} if no build is running") from None
                time.sleep(LOCK_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _complete(build_dir: Path, board_id: str, sha: str) -> bool:
    """A finished build of this model for this board (build.json is written last)."""
    try:
        record = read_build_record(build_dir)
    except BuildError:
        return False
    return (build_dir / ELF_NAME).exists() and record.get("board") == board_id and record.get("model_sha256") == sha


def firmware_for(model: Path | str, board: Board | str, cache: Path | None = None) -> Firmware:
    """The runner firmware of ``model`` for ``board``: from the cache, else built into it."""
    model, b = Path(model), load_board(board)
    sha = oracle.model_sha256(model)
    build_dir = (cache or cache_root()) / CACHE_SUBDIR / cache_key(sha, b.id)
    with _locked(build_dir.with_suffix(".lock")):
        cached = _complete(build_dir, b.id, sha)
        if not cached:
            build_firmware(model, b, build_dir)
    record = read_build_record(build_dir)
    size = record.get("size") or {}
    return Firmware(dir=build_dir, board=b.id, model=model, model_sha256=sha,
                    image_sha256=image_sha256(build_dir / ELF_NAME), flash_bytes=int(size.get("flash_used", 0)),
                    ram_bytes=int(size.get("ram_used", 0)), toolchain=record.get("toolchain"), cached=cached)
