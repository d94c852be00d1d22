"""A cache of expensive results on disk (downloads, fine-tuned fit candidates), keyed by content.

``$TINYKIT_CACHE`` (else ``$XDG_CACHE_HOME/tinykit``, else ``~/.cache/tinykit``) holds one folder
per kind of result. An entry is a folder named by the SHA-256 of everything its result depends
on (the input bytes, the settings, tinykit's version), written under a temporary name and renamed
when complete, so an interrupted writer never leaves an entry that looks finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from tinykit import __version__


def cache_dir() -> Path:
    """The cache root: $TINYKIT_CACHE, else $XDG_CACHE_HOME/tinykit, else ~/.cache/tinykit."""
    if os.environ.get("TINYKIT_CACHE"):
        return Path(os.environ["TINYKIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tinykit"


def key(*parts: object) -> str:
    """A digest of the parts (bytes as they are, everything else as JSON) and tinykit's version."""
    h = hashlib.sha256(__version__.encode())
    for part in parts:
        h.update(part if isinstance(part, bytes) else json.dumps(part, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def entry(kind: str, digest: str) -> Path | None:
    """The folder of a finished entry, or None."""
    path = cache_dir() / kind / digest
    return path if path.is_dir() else None


@contextlib.contextmanager
def writing(kind: str, digest: str) -> Iterator[Path]:
    """A temporary folder that becomes the entry when the block succeeds (discarded on failure)."""
    final = cache_dir() / kind / digest
    tmp = final.with_name(f".{digest}.{os.getpid()}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        try:
            os.replace(tmp, final)
        except OSError:  # another process finished the same entry first: keep theirs
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
