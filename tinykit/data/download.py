"""Downloading a large file over HTTP: resumable (HTTP Range), checked (SHA-256), with progress.

The bytes go to ``<file>.part`` next to the target; an interrupted transfer (a dropped
connection, a server that closes early, Ctrl-C) leaves the ``.part`` file, and the next call asks
the server for the rest (``Range: bytes=N-``). A server that ignores the range restarts the file.
The finished file is hashed before it takes its final name, so a file at the target path is
always complete and verified; a checksum mismatch deletes the download and says so.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tinykit import __version__
from tinykit.errors import DataError

CHUNK_BYTES = 1 << 20
SOCKET_TIMEOUT_S = 30
ATTEMPTS = 4  # one try plus three resumes per call
USER_AGENT = f"tinykit/{__version__}"

Progress = Callable[[int, int | None], None]  # (bytes so far, total bytes or None)


@dataclass(frozen=True)
class Download:
    """What a finished download was: its path, size, digest, and how many times it resumed."""

    path: Path
    size: int
    sha256: str
    resumed: int


def _hash_file(path: Path, h) -> None:
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)


def _open(url: str, start: int):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        return urllib.request.urlopen(request, timeout=SOCKET_TIMEOUT_S)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:  # nothing left to send: the .part file is whole already
            return None
        raise DataError(f"download of {url} failed: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DataError(f"cannot reach {url}: {reason}",
                        hint="check the network connection (or pass a local archive)") from err


def _total(resp) -> tuple[int, int | None]:
    """(offset the body starts at, total size) from a 200 or 206 answer."""
    if resp.status == 206:
        rng = resp.headers.get("Content-Range", "")  # bytes START-END/TOTAL
        try:
            first = int(rng.split()[1].split("-")[0])
            total = rng.rsplit("/", 1)[1]
            return first, (int(total) if total != "*" else None)
        except (IndexError, ValueError) as err:
            raise DataError(f"the server sent an unreadable Content-Range {rng!r}") from err
    length = resp.headers.get("Content-Length")
    return 0, (int(length) if length and length.isdigit() else None)


class _State:
    """The ``.part`` file, the running hash of its bytes, and the size the server announced."""

    def __init__(self, part: Path) -> None:
        self.part = part
        self.hash = hashlib.sha256()
        self.total: int | None = None
        if part.exists():
            _hash_file(part, self.hash)

    @property
    def size(self) -> int:
        return self.part.stat().st_size if self.part.exists() else 0

    def restart(self) -> None:
        self.part.unlink(missing_ok=True)
        self.hash = hashlib.sha256()


def _transfer(url: str, state: _State, progress: Progress | None) -> None:
    """One request: append what the server sends to the ``.part`` file."""
    have = state.size
    resp = _open(url, have)
    if resp is None:
        state.total = have
        return
    with resp:
        first, state.total = _total(resp)
        if first != have:  # the server ignored the range: start over
            state.restart()
            have = 0
        with open(state.part, "ab") as fh:
            while True:
                try:
                    chunk = resp.read(CHUNK_BYTES)
                except (http.client.HTTPException, OSError) as err:
                    raise ConnectionError(str(err)) from err
                if not chunk:
                    break
                fh.write(chunk)
                state.hash.update(chunk)
                have += len(chunk)
                if progress:
                    progress(have, state.total)


def download(url: str, target: Path, sha256: str | None, progress: Progress | None = None) -> Download:
    """Fetch ``url`` to ``target`` (resuming ``target.part``); verify ``sha256`` when given."""
    target = Path(target)
    if target.exists():
        return _verified(target, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    state = _State(target.with_name(target.name + ".part"))
    resumed = int(state.size > 0)
    for attempt in range(ATTEMPTS):
        if attempt:
            resumed += 1
        try:
            _transfer(url, state, progress)
        except ConnectionError:
            continue
        if state.total is None or state.size >= state.total:
            break
    if state.total is not None and state.size < state.total:
        raise DataError(f"download of {url} interrupted at {state.size:,} of {state.total:,} bytes",
                        hint="run the same command again: it resumes where it stopped")
    digest = state.hash.hexdigest()
    if sha256 and digest != sha256.lower():
        state.restart()
        raise DataError(f"checksum mismatch for {url}: SHA-256 {digest}, expected {sha256.lower()}",
                        hint="the damaged download was deleted; run the command again")
    size = state.size
    os.replace(state.part, target)
    return Download(target, size, digest, resumed)


def _verified(target: Path, sha256: str | None) -> Download:
    """A file already at the target: check it again (a cache can rot or be replaced by hand)."""
    h = hashlib.sha256()
    _hash_file(target, h)
    if sha256 and h.hexdigest() != sha256.lower():
        raise DataError(f"{target} does not have the expected SHA-256 ({h.hexdigest()}, "
                        f"expected {sha256.lower()})", hint=f"delete {target} and download it again")
    return Download(target, target.stat().st_size, h.hexdigest(), 0)
