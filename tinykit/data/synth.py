"""Synthetic keyword-spotting data set in the Speech Commands layout, made to transfer to real voices.

Many synthetic *speakers* (espeak-ng formant voices and MBROLA diphone voices, each with its own
pitch, speed and vocal-tract length; see :mod:`tinykit.data.voices`) each say a shuffled list of
items with varied rate, pitch, pitch range and emphasis. Every clip then goes through a room
(reverberation), a microphone (band limits, level) and a background (coloured noise, hum, music,
other voices) at a random signal-to-noise ratio (see :mod:`tinykit.data.acoustics`).

``_unknown_`` holds other words (hundreds of everyday words and near-misses of the keywords) and
one-second pieces of phrases, since a streaming spotter mostly hears running speech; ``_silence_``
holds background only. ``_background_noise_`` gets long recordings of every background kind so
training can mix new noise into every epoch. Splits are by speaker (a speaker's clips are all in
one split), so the test accuracy is on voices the model never trained on. One seed gives the same
bytes: every random choice comes from one generator, drawn before the speakers run in parallel.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykit import cache
from tinykit.data import acoustics as ac
from tinykit.data import layout
from tinykit.data.vocabulary import unknown_words
from tinykit.data.voices import Speaker, espeak, mbrola_voices, random_speaker, speak_items
from tinykit.data.wav import write_wav
from tinykit.errors import DataError
from tinykit.files import check_output_dir

RATE = ac.RATE
ITEMS_PER_SPEAKER = 12
PHRASE_SHARE = 0.4  # of _unknown_: one-second pieces of phrases instead of single words
PHRASE_WORDS = (2, 5)
SPLIT_EVERY = 10  # speaker i tests when i % 10 == 0, validates when i % 10 == 1
REVERB_P = 0.6
MIC_P = 0.7
SNR_DB = (10.0, 40.0)
PEAK = (0.05, 0.9)
SILENCE_DBFS = (-65.0, -15.0)  # RMS level of a _silence_ clip
BACKGROUND_SECONDS = 15
MUSIC_PIECES = 6
UNKNOWN_SHARE = 2  # _unknown_ gets this many times the clips of a keyword: it stands for every other word
CACHE_KIND = "synth"


@dataclass(frozen=True)
class SynthResult:
    """What synth_kws wrote: the directory, its labels and clip counts per label."""

    directory: Path
    labels: tuple[str, ...]
    counts: dict[str, int]


@dataclass
class _Item:
    label: str
    text: str
    phrase: bool = False


def _plan(words: list[str], per_word: int, unknown: bool, rng: np.random.Generator) -> list[_Item]:
    items = [_Item(w, w) for w in words for _ in range(per_word)]
    if unknown:
        pool = unknown_words(words)
        for _ in range(UNKNOWN_SHARE * per_word):
            if rng.random() < PHRASE_SHARE:
                n = int(rng.integers(*PHRASE_WORDS, endpoint=True))
                items.append(_Item("_unknown_", " ".join(rng.choice(pool, n)), phrase=True))
            else:
                items.append(_Item("_unknown_", str(rng.choice(pool))))
    return [items[i] for i in rng.permutation(len(items))]


def _speak_all(items: list[_Item], rng: np.random.Generator, progress) -> list[tuple[Speaker, list[np.ndarray]]]:
    """Run the speakers (in parallel: one espeak-ng process each) and cut their recordings."""
    groups = [items[i : i + ITEMS_PER_SPEAKER] for i in range(0, len(items), ITEMS_PER_SPEAKER)]
    jobs = [(random_speaker(rng), [it.text for it in g], np.random.default_rng(rng.integers(2**63)))
            for g in groups]
    espeak()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        futures = [pool.submit(speak_items, sp, texts, r, Path(tmp)) for sp, texts, r in jobs]
        out = []
        for i, (fut, (sp, _, _)) in enumerate(zip(futures, jobs, strict=True)):
            out.append((sp, fut.result()))
            if progress:
                progress("espeak-ng speakers", i + 1, len(jobs))
    return out


def _background_bank(rng: np.random.Generator, phrases: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Long backgrounds: coloured noise, hum, several pieces of music in different styles, babble."""
    n = BACKGROUND_SECONDS * RATE
    bank = {k: ac.coloured_noise(k, n, rng) for k in ("white", "pink", "brown", "hum")}
    bank |= {f"music{i}": ac.music(BACKGROUND_SECONDS, rng) for i in range(MUSIC_PIECES)}
    if len(phrases) >= 2:
        bank["babble"] = ac.babble(phrases[:8], n, rng)
    return bank


def _place(speech: np.ndarray, phrase: bool, rng: np.random.Generator) -> np.ndarray:
    """One second with the speech at a random offset (a random one-second piece of a phrase)."""
    speech = ac.trim(speech)
    if speech.size > RATE:
        start = int(rng.integers(0, speech.size - RATE + 1)) if phrase else (speech.size - RATE) // 2
        return speech[start : start + RATE].astype(np.float32)
    clip = np.zeros(RATE, np.float32)
    start = int(rng.integers(0, RATE - speech.size + 1))
    clip[start : start + speech.size] = speech
    return clip


def _noise_piece(bank: dict[str, np.ndarray], rng: np.random.Generator) -> np.ndarray:
    src = bank[str(rng.choice(sorted(bank)))]
    start = int(rng.integers(0, src.size - RATE + 1))
    return src[start : start + RATE]


def render_clip(speech: np.ndarray | None, phrase: bool, bank: dict[str, np.ndarray],
                rng: np.random.Generator, clean: bool = False) -> np.ndarray:
    """Speech (or nothing) in a room, through a microphone, over a background, at a random level
    (``clean``: the speech alone, for quick tests that must learn from a few clips)."""
    if clean:
        clip = _place(speech, phrase, rng) if speech is not None else ac.coloured_noise("pink", RATE, rng) * 0.003
        return (clip * (rng.uniform(*PEAK) / (np.abs(clip).max() + 1e-9) if speech is not None else 1)).astype(
            np.float32)
    if speech is None:  # background alone, from barely audible to loud
        clip = ac.unit_rms(_noise_piece(bank, rng)) * 10 ** (rng.uniform(*SILENCE_DBFS) / 20)
        return np.clip(ac.microphone(clip, rng) if rng.random() < MIC_P else clip, -1, 1).astype(np.float32)
    clip = _place(speech, phrase, rng)
    if rng.random() < REVERB_P:
        clip = ac.convolve(clip, ac.room_impulse(rng))
    clip = ac.mix_at_snr(clip, _noise_piece(bank, rng), rng.uniform(*SNR_DB))
    if rng.random() < MIC_P:
        clip = ac.microphone(clip, rng)
    return (clip * rng.uniform(*PEAK) / (np.abs(clip).max() + 1e-9)).astype(np.float32)


def _check(words: list[str], per_word: int) -> list[str]:
    words = [w.strip().lower() for w in words if w.strip()]
    if not words or len(set(words)) != len(words):
        raise DataError("need at least one word and no duplicates", hint="e.g. --words yes,no,up,down")
    bad = [w for w in words if not w.replace("-", "").replace("'", "").isalpha() or w.startswith("_")]
    if bad:
        raise DataError(f"keywords must be words (letters, '-' or \"'\"): {', '.join(map(repr, bad))}")
    if per_word < SPLIT_EVERY:
        raise DataError(f"--per-word must be at least {SPLIT_EVERY} so every split gets clips")
    return words


class _Writer:
    """Writes clips under speaker names and assigns each speaker's clips to one split."""

    def __init__(self, root: Path) -> None:
        self.root, self.lists, self.counts = root, {"val": [], "test": []}, {}
        self.speakers: dict[str, int] = {}

    def write(self, label: str, speaker: str, clip: np.ndarray) -> None:
        index = self.speakers.setdefault(speaker, len(self.speakers))
        n = self.counts.get((label, speaker), 0)
        self.counts[(label, speaker)] = n + 1
        rel = f"{label}/{speaker}_nohash_{n}.wav"
        write_wav(self.root / rel, clip)
        split = {0: "test", 1: "val"}.get(index % SPLIT_EVERY)
        if split:
            self.lists[split].append(rel)

    def per_label(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (label, _), n in self.counts.items():
            out[label] = out.get(label, 0) + n
        return dict(sorted(out.items()))


def _write_all(tmp: Path, items, spoken, per_word: int, silence: bool, rng, progress,
               clean: bool = False) -> dict[str, int]:
    segs = [(sp, seg) for sp, segments in spoken for seg in segments]
    phrases = [seg for (sp, seg), it in zip(segs, items, strict=True) if it.phrase]
    bank = _background_bank(rng, phrases)
    w = _Writer(tmp)
    total = len(segs) + per_word * silence
    for i, ((sp, seg), it) in enumerate(zip(segs, items, strict=True)):
        w.write(it.label, sp.id, render_clip(seg, it.phrase, bank, rng, clean))
        if progress and (i + 1) % 50 == 0:
            progress("clips written", i + 1, total)
    if silence:
        for i in range(per_word):
            w.write("_silence_", f"noise{i:04d}", render_clip(None, False, bank, rng, clean))
    for kind, sig in bank.items():
        write_wav(tmp / layout.BACKGROUND_DIR / f"{kind}.wav", 0.3 * sig / (np.abs(sig).max() + 1e-9))
    layout.write_lists(tmp, w.lists["val"], w.lists["test"])
    if progress:
        progress("clips written", total, total)
    return w.per_label()


def _cache_key(words: list[str], per_word: int, seed: int, unknown: bool, silence: bool, clean: bool) -> str:
    """What the synthetic set depends on: the request, and the speech synthesiser and voices installed."""
    import subprocess

    version = subprocess.run([espeak(), "--version"], capture_output=True, text=True).stdout.strip()
    return cache.key("synth", words, per_word, seed, unknown, silence, clean, version, mbrola_voices())


def synth_kws(out_dir: Path, words: list[str], per_word: int = 100, seed: int = 0, unknown: bool = True,
              silence: bool = True, progress: Callable[[str, int, int], None] | None = None,
              clean: bool = False, force: bool = False) -> SynthResult:
    """Write a Speech Commands-layout data set: one folder per word plus _unknown_ and _silence_.

    The same request on the same installation gives the same bytes, so the set is cached
    (:mod:`tinykit.cache`) and a second request copies it. ``clean`` leaves out rooms, microphones
    and backgrounds (quick tests that must learn from a few clips). A non-empty ``out_dir`` is
    refused, or replaced with ``force``."""
    out_dir = check_output_dir(out_dir, force)
    words = _check(words, per_word)
    digest = _cache_key(words, per_word, seed, unknown, silence, clean)
    with layout.building(out_dir, source="synthetic", words=words, seed=seed, replace=force) as tmp:
        if (hit := cache.entry(CACHE_KIND, digest)) is not None:
            shutil.copytree(hit, tmp, dirs_exist_ok=True)
        else:
            rng = np.random.default_rng(seed)
            items = _plan(words, per_word, unknown, rng)
            spoken = _speak_all(items, rng, progress)
            counts = _write_all(tmp, items, spoken, per_word, silence, rng, progress, clean)
            layout.write_marker(tmp, False, counts=counts)
            with cache.writing(CACHE_KIND, digest) as entry:
                shutil.copytree(tmp, entry, dirs_exist_ok=True)
        counts = layout.read_marker(tmp)["counts"]
    return SynthResult(Path(out_dir), tuple(counts), counts)
