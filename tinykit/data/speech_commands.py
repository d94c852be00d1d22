"""Google Speech Commands v0.02: download once, extract the words a lab needs.

The archive (2.4 GB, 105,829 one-second clips of 35 words by 2,618 speakers, CC BY 4.0) comes from
its official location; its SHA-256 is the one TensorFlow Datasets and torchaudio publish. It is kept
in a cache folder so extracting other words later reads it again instead of downloading it.

Extraction keeps the chosen words, ``_background_noise_`` and the official validation and testing
lists (restricted to what was kept), and adds two classes a keyword spotter needs: ``_unknown_``
(clips of the other words, drawn evenly across them, under their original speaker names) and
``_silence_`` (1 s pieces of the background noise at random levels). The result is written to a
temporary folder and renamed when complete (see :mod:`tinykit.data.layout`).
"""

from __future__ import annotations

import io
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from tinykit.cache import cache_dir
from tinykit.data import layout
from tinykit.data.download import download
from tinykit.data.wav import read_wav, write_wav
from tinykit.errors import DataError
from tinykit.files import check_output_dir, write_atomic

URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
ARCHIVE_BYTES = 2_428_923_189
ARCHIVE_NAME = "speech_commands_v0.02.tar.gz"
WORDS = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four", "go",
    "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right", "seven",
    "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero",
)  # fmt: skip
KEEP_FILES = ("LICENSE", "README.md")
SILENCE_GAIN = (0.05, 1.0)
RATE = 16000

Progress = Callable[[str, int, int | None], None]  # (phase, done, total)


@dataclass
class Selection:
    """Which members of the archive go where, decided from the archive's list of names."""

    words: tuple[str, ...]
    keep: dict[str, str] = field(default_factory=dict)  # member name -> path in the data set
    counts: dict[str, int] = field(default_factory=dict)


def _member_path(name: str) -> PurePosixPath:
    return PurePosixPath(name.removeprefix("./"))


def check_words(words: list[str] | None) -> tuple[str, ...]:
    """The keywords, checked against the 35 words of the data set (None = all of them)."""
    if not words:
        return WORDS
    words = [w.strip().lower() for w in words if w.strip()]
    unknown = [w for w in words if w not in WORDS]
    if unknown:
        raise DataError(f"Speech Commands has no word {', '.join(map(repr, unknown))}",
                        hint=f"choose from: {', '.join(WORDS)}")
    if len(set(words)) != len(words) or not words:
        raise DataError("need at least one word and no duplicates", hint="e.g. --words yes,no,up,down")
    return tuple(words)


def select(names: list[str], words: tuple[str, ...], unknown: bool, seed: int) -> Selection:
    """Members to keep: the words, background noise, and (evenly over the other words) _unknown_."""
    sel = Selection(words)
    by_word: dict[str, list[str]] = {}
    for name in names:
        p = _member_path(name)
        if len(p.parts) == 2 and p.suffix == ".wav":
            by_word.setdefault(p.parts[0], []).append(name)
        elif len(p.parts) == 1 and p.name in KEEP_FILES:
            sel.keep[name] = p.name
    for word in (*words, layout.BACKGROUND_DIR):
        for name in sorted(by_word.get(word, [])):
            sel.keep[name] = str(_member_path(name))
    missing = [w for w in words if w not in by_word]
    if missing:
        raise DataError(f"the archive has no folder for {', '.join(missing)}",
                        hint="is it the Speech Commands v0.02 archive?")
    sel.counts = {w: len(by_word[w]) for w in words}
    others = sorted(w for w in by_word if w not in words and w != layout.BACKGROUND_DIR)
    if unknown and others:
        want = round(np.mean(list(sel.counts.values())))
        rng = np.random.default_rng(seed)
        per = want // len(others) + 1
        picked = []
        for w in others:
            pool = sorted(by_word[w])
            picked += [pool[i] for i in sorted(rng.permutation(len(pool))[:per])]
        for name in sorted(picked[i] for i in sorted(rng.permutation(len(picked))[:want])):
            word, clip = _member_path(name).parts
            speaker, _, n = clip.removesuffix(".wav").partition("_nohash_")
            sel.keep[name] = f"_unknown_/{speaker}_nohash_{word}-{n}.wav"  # the speaker keeps its split
        sel.counts["_unknown_"] = min(want, len(picked))
    return sel


class _Counting(io.RawIOBase):
    """A file object that reports how many compressed bytes were read (extraction progress)."""

    def __init__(self, fh, report: Callable[[int], None]) -> None:
        self.fh, self.report, self.done = fh, report, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self.fh.readinto(buf)
        self.done += n or 0
        self.report(self.done)
        return n


def _members(archive: Path, phase: str, progress: Progress | None):
    """Stream the archive's members once (gzip cannot seek), reporting compressed bytes read."""
    total = archive.stat().st_size
    with open(archive, "rb") as raw:
        stream = io.BufferedReader(_Counting(raw, lambda n: progress and progress(phase, n, total)))
        try:
            with tarfile.open(fileobj=stream, mode="r|*") as tar:
                for member in tar:
                    yield member, tar
        except (tarfile.TarError, OSError, EOFError, zlib.error) as err:
            raise DataError(f"cannot read {archive}: {err}", hint="delete it and download it again") from err


def scan(archive: Path, progress: Progress | None = None) -> tuple[list[str], dict[str, list[str]]]:
    """Every member name, and the official validation and testing lists."""
    names, lists = [], {"val": [], "test": []}
    for member, tar in _members(archive, "scan", progress):
        names.append(member.name)
        p = _member_path(member.name)
        key = {layout.VALIDATION_LIST: "val", layout.TESTING_LIST: "test"}.get(p.name)
        if key and len(p.parts) == 1 and member.isfile():
            lists[key] = tar.extractfile(member).read().decode().split()
    if not lists["val"] or not lists["test"]:
        raise DataError(f"{archive} has no validation_list.txt / testing_list.txt",
                        hint="is it the Speech Commands v0.02 archive?")
    return names, lists


def _extract(archive: Path, sel: Selection, out: Path, progress: Progress | None) -> None:
    for member, tar in _members(archive, "extract", progress):
        dest = sel.keep.get(member.name)
        if dest is not None and member.isfile():
            write_atomic(out / dest, tar.extractfile(member).read())


def _lists(archive_lists: dict[str, list[str]], sel: Selection) -> tuple[list[str], list[str]]:
    """The official lists, restricted to the kept clips and renamed to where they were put."""
    renamed = {str(_member_path(k)): v for k, v in sel.keep.items()}
    return ([renamed[p] for p in archive_lists["val"] if p in renamed],
            [renamed[p] for p in archive_lists["test"] if p in renamed])


def make_silence(out: Path, n: int, seed: int) -> list[str]:
    """``n`` clips of 1 s cut from the background noise at random levels; returns their names."""
    noises = [read_wav(p)[0] for p in sorted((out / layout.BACKGROUND_DIR).glob("*.wav"))]
    noises = [x for x in noises if x.size >= RATE]
    if not noises or n <= 0:
        return []
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        src = noises[i % len(noises)]
        start = int(rng.integers(0, src.size - RATE + 1))
        name = f"_silence_/noise{i:04d}_nohash_0.wav"
        write_wav(out / name, src[start : start + RATE] * rng.uniform(*SILENCE_GAIN))
        names.append(name)
    return names


def extract(archive: Path, out: Path, words: list[str] | None = None, unknown: bool = True,
            silence: bool = True, seed: int = 0, progress: Progress | None = None, force: bool = False) -> dict:
    """Write a Speech Commands-layout data set of ``words`` from the archive; returns its summary."""
    archive, out = Path(archive), Path(out)
    chosen = check_words(words)
    unknown = unknown and len(chosen) < len(WORDS)
    names, lists = scan(archive, progress)
    sel = select(names, chosen, unknown, seed)
    with layout.building(out, replace=force, source=str(archive), words=list(chosen),
                         resume_hint="run the same `tinykit data get` command again") as tmp:
        _extract(archive, sel, tmp, progress)
        val, test = _lists(lists, sel)
        if silence:
            names = make_silence(tmp, round(np.mean([sel.counts[w] for w in chosen])), seed)
            sel.counts["_silence_"] = len(names)
            val += [n for n in names if layout.which_split(n) == "val"]
            test += [n for n in names if layout.which_split(n) == "test"]
        layout.write_lists(tmp, val, test)
        layout.write_marker(tmp, False, counts=sel.counts)
    return {"directory": str(out), "labels": sorted(sel.counts), "counts": sel.counts}


def fetch_archive(url: str = URL, sha256: str | None = SHA256, cache: Path | None = None,
                  progress: Progress | None = None) -> Path:
    """The archive in the cache, downloaded (or resumed) first if it is not there yet."""
    target = (Path(cache) if cache else cache_dir()) / "downloads" / Path(url.split("?")[0]).name
    res = download(url, target, sha256, progress=lambda n, t: progress and progress("download", n, t))
    return res.path


def get(out: Path, words: list[str] | None = None, archive: Path | None = None, url: str = URL,
        sha256: str | None = SHA256, cache: Path | None = None, unknown: bool = True, silence: bool = True,
        seed: int = 0, progress: Progress | None = None, force: bool = False) -> dict:
    """Download (unless ``archive`` is given) and extract Speech Commands into ``out`` (a non-empty
    ``out`` is refused, or replaced with ``force``)."""
    check_words(words)
    check_output_dir(out, force)
    if archive is None:
        archive = fetch_archive(url, sha256, cache, progress)
    elif not Path(archive).is_file():
        raise DataError(f"archive {archive} does not exist")
    return extract(archive, out, words, unknown, silence, seed, progress, force)
