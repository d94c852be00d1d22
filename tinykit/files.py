"""Writing files all or nothing: a temporary file in the same folder, renamed over the target.

An interrupted or failed step never leaves half a file where the next stage (or the user) would
read it. Every writer of an artefact goes through :func:`atomic_path` (for tools that want a path:
a compiler's ``-o``, ``wave``, ``numpy.save``) or :func:`write_atomic` (text or bytes).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinykit.errors import OutputPathError

FORCE_HINT = "pass --force to overwrite it, or choose another -o"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path next to ``path``; renamed onto ``path`` if the block succeeds, else removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600; an artefact is an ordinary file
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_atomic(path: str | os.PathLike, data: str | bytes, *, fsync: bool = False) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; ``fsync`` also survives a power cut."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    return Path(path)


def write_json(path: str | os.PathLike, data: Any, *, default=str, fsync: bool = False) -> Path:
    """JSON (indented, newline-terminated) written atomically."""
    return write_atomic(path, json.dumps(data, indent=2, default=default) + "\n", fsync=fsync)


def check_output_file(path: str | os.PathLike, force: bool = False, suffixes: tuple[str, ...] = ()) -> Path:
    """A file the command will write, checked before it starts work: not a folder, not an earlier
    artefact unless ``force``, with the right suffix, in a folder that can be written."""
    path = Path(path)
    if suffixes and path.suffix not in suffixes:
        raise OutputPathError(f"output {path} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise OutputPathError(f"output {path} is a folder; a file is written there", hint="give a file name")
    if path.exists() and not force:
        raise OutputPathError(f"output {path} exists", hint=FORCE_HINT)
    _check_writable_folder(path.parent)
    return path


def check_output_dir(path: str | os.PathLike, force: bool = False, reuse_marker: str | None = None) -> Path:
    """A folder the command will fill, checked before it starts work: not a file, not a non-empty
    folder (earlier results) unless ``force``, and writable. A folder holding ``reuse_marker`` is
    the command's own earlier output (``tinykit run``'s results.json): a re-run reuses it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"output {path} is a file; a folder is written there", hint="give a folder name")
    ours = reuse_marker is not None and (path / reuse_marker).is_file()
    if path.is_dir() and any(path.iterdir()) and not force and not ours:
        raise OutputPathError(f"output folder {path} is not empty", hint=FORCE_HINT)
    _check_writable_folder(path)
    return path


def _check_writable_folder(folder: Path) -> None:
    """``folder``, or the nearest part of it that exists (the rest is created later), takes a new file."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"cannot write in {folder}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise OutputPathError(f"cannot write in {folder}: {err.strerror or err}", hint="choose another -o") from None


def current_umask() -> int:
    """The process umask (reading it means setting it; it is put straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
