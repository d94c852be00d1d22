"""The Speech Commands folder layout every audio data set of tinykit shares, and how it is written.

A data set is one folder per label of 1 s mono 16 kHz WAVs named ``<speaker>_nohash_<n>.wav``,
``_background_noise_/`` with longer noise recordings, and ``validation_list.txt`` /
``testing_list.txt`` naming the clips of those splits (every other clip trains). Downloaded,
recorded and synthetic sets all use it, so they mix: their lists merge.

Splits follow the official rule of the Speech Commands paper: the SHA-1 of the file name without
its ``_nohash_`` suffix, i.e. of the *speaker*, picks the split, so one speaker's clips of every
word land in the same split and a model is never tested on a voice it trained on.

A folder being written is built under a temporary name next to its target and renamed when it is
complete; ``tinykit-dataset.json`` records that it is. A folder whose marker says it is incomplete
(an interrupted writer that could not rename, or a recording session cut short of its lists) is
refused by the loader with an error instead of training on half a data set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from tinykit.errors import DataError
from tinykit.files import write_atomic, write_json

MARKER = "tinykit-dataset.json"
BACKGROUND_DIR = "_background_noise_"
VALIDATION_LIST = "validation_list.txt"
TESTING_LIST = "testing_list.txt"
VALIDATION_PERCENT = 10
TESTING_PERCENT = 10
# The constant of the official split (tensorflow/examples/speech_commands): hashes are taken
# modulo 2**27 so the split of a file never changes as the data set grows.
MAX_CLIPS_PER_CLASS = 2**27 - 1
_NOHASH = re.compile(r"_nohash_.*$")
_SPEAKER_OK = re.compile(r"^[A-Za-z0-9-]+$")


def speaker_of(name: str) -> str:
    """The speaker part of a clip name (``abc123_nohash_0.wav`` -> ``abc123``; the whole name without it)."""
    return _NOHASH.sub("", Path(name).name)


def which_split(name: str) -> str:
    """'train', 'val' or 'test' for a clip, from its speaker alone (the official hash split)."""
    digest = hashlib.sha1(speaker_of(name).encode()).hexdigest()
    percent = (int(digest, 16) % (MAX_CLIPS_PER_CLASS + 1)) * (100.0 / MAX_CLIPS_PER_CLASS)
    if percent < VALIDATION_PERCENT:
        return "val"
    return "test" if percent < VALIDATION_PERCENT + TESTING_PERCENT else "train"


def check_speaker(speaker: str) -> str:
    """A speaker id usable in file names (letters, digits, '-'; no '_' since it ends at '_nohash_')."""
    if not _SPEAKER_OK.match(speaker or ""):
        raise DataError(f"speaker id {speaker!r} must be letters, digits or '-'", hint="e.g. --speaker alice")
    return speaker


def read_list(root: Path, name: str) -> list[str]:
    path = Path(root) / name
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()] if path.exists() else []


def write_lists(root: Path, val: Iterable[str], test: Iterable[str]) -> None:
    """Write both split lists (sorted, atomically)."""
    write_atomic(Path(root) / VALIDATION_LIST, "".join(f"{p}\n" for p in sorted(set(val))))
    write_atomic(Path(root) / TESTING_LIST, "".join(f"{p}\n" for p in sorted(set(test))))


def add_to_lists(root: Path, relative: list[str]) -> None:
    """Put new clips (``label/name.wav``) into the list their speaker's hash picks."""
    val, test = read_list(root, VALIDATION_LIST), read_list(root, TESTING_LIST)
    for rel in relative:
        split = which_split(rel)
        (val if split == "val" else test if split == "test" else []).append(rel)
    write_lists(root, val, test)


def read_marker(root: Path) -> dict | None:
    path = Path(root) / MARKER
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return {"complete": False}


def write_marker(root: Path, complete: bool, **info) -> None:
    old = read_marker(root) or {}
    write_json(Path(root) / MARKER, {**old, **info, "complete": complete})


def check_complete(root: Path) -> None:
    """Refuse a data set whose writer was interrupted (its marker says incomplete)."""
    marker = read_marker(root)
    if marker is not None and not marker.get("complete", False):
        raise DataError(f"data set {root} is incomplete: the command writing it was interrupted",
                        hint=marker.get("resume_hint") or "delete the folder and create the data set again")


def partial_dir(target: Path) -> Path:
    return target.with_name(f".{target.name}.partial")


@contextlib.contextmanager
def building(target: Path, replace: bool = False, **info) -> Iterator[Path]:
    """A temporary folder next to ``target`` that becomes ``target`` (with a complete marker) on success.

    A leftover from an interrupted run of the same command is removed first; on failure the
    temporary folder stays (marked incomplete) so nothing that looks like a data set appears at
    ``target``. An existing non-empty ``target`` is refused, or (``replace``) swapped out at the end."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not replace:
        raise DataError(f"{target} exists and is not empty", hint="choose a new output directory")
    tmp = partial_dir(target)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    write_marker(tmp, False, **info)
    yield tmp
    write_marker(tmp, True)
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
