"""Synthetic keyword-spotting data set spoken by espeak-ng, in the Speech Commands layout.

Each word is spoken with a random English voice, variant, pitch and speed, placed at a random offset
in a 1 s clip, scaled, and mixed with generated noise (white, pink, brown or hum) at a random SNR.
``_unknown_`` holds other words, ``_silence_`` noise only. Everything is drawn from one seeded
generator and espeak-ng is deterministic, so a seed gives the same bytes.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykit.data.wav import read_wav, resample, write_wav
from tinykit.errors import DataError, ToolMissingError
from tinykit.files import check_output_dir

RATE = 16000
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan")
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m7", "+f1", "+f2", "+f3", "+f4", "+klatt")
UNKNOWN_WORDS = (
    "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow", "zero", "one",
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "learn", "follow", "forward",
    "backward", "visual", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
)  # fmt: skip
NOISE_KINDS = ("white", "pink", "brown", "hum")
ESPEAK_TIMEOUT_S = 20
SPLIT_EVERY = 10  # clip i goes to test when i % 10 == 0, validation when i % 10 == 1


@dataclass(frozen=True)
class SynthResult:
    """What synth_kws wrote: the directory, its labels and clip counts per label."""

    directory: Path
    labels: tuple[str, ...]
    counts: dict[str, int]


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ToolMissingError("espeak-ng is not installed", hint="sudo apt-get install espeak-ng")
    return exe


def speak(word: str, voice: str, pitch: int, speed: int, workdir: Path) -> np.ndarray:
    """Speak one word with espeak-ng and return it as float32 samples at 16 kHz."""
    out = workdir / "w.wav"
    cmd = [_espeak(), "-w", str(out), "-v", voice, "-p", str(pitch), "-s", str(speed), word]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=ESPEAK_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        raise DataError(f"espeak-ng failed for {word!r} with voice {voice}: {err}") from err
    samples, rate = read_wav(out)
    return resample(samples, rate, RATE)


def noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise of a given colour (pink/brown by spectral shaping, hum = mains harmonics)."""
    if kind == "hum":
        t = np.arange(n) / RATE
        base = rng.choice([50.0, 60.0])
        sig = sum(np.sin(2 * np.pi * base * h * t + rng.uniform(0, 6.3)) / h for h in (1, 2, 3, 5))
        sig = sig + 0.1 * rng.standard_normal(n)
    else:
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.arange(spec.size), 1.0)
        spec = spec / {"white": 1.0, "pink": np.sqrt(f), "brown": f}[kind]
        sig = np.fft.irfft(spec, n)
    return (sig / (np.sqrt(np.mean(sig**2)) + 1e-12)).astype(np.float32)


def _trim(samples: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    loud = np.nonzero(np.abs(samples) > threshold * (np.abs(samples).max() + 1e-9))[0]
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples


def make_clip(speech: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Place speech (or nothing) at a random offset in 1 s and mix in noise at a random SNR."""
    clip = np.zeros(RATE, np.float32)
    if speech is not None:
        speech = _trim(speech)[:RATE]
        start = int(rng.integers(0, RATE - speech.size + 1))
        clip[start : start + speech.size] = speech / (np.abs(speech).max() + 1e-9)
        clip *= rng.uniform(0.3, 0.9)
        rms = np.sqrt(np.mean(speech**2) / (np.abs(speech).max() + 1e-9) ** 2) * np.abs(clip).max()
        noise_rms = rms / (10 ** (rng.uniform(5.0, 30.0) / 20))
    else:
        noise_rms = rng.uniform(0.001, 0.1)
    clip += noise_rms * noise(str(rng.choice(NOISE_KINDS)), RATE, rng)
    return np.clip(clip, -1.0, 1.0)


def _random_voice(rng: np.random.Generator) -> tuple[str, int, int]:
    voice = str(rng.choice(VOICES)) + str(rng.choice(VARIANTS))
    return voice, int(rng.integers(20, 81)), int(rng.integers(110, 211))


def _write_label(out: Path, label: str, words: list[str], n: int, rng: np.random.Generator,
                 work: Path, splits: dict[str, list[str]]) -> None:
    for i in range(n):
        speech = None
        if words:
            word = str(rng.choice(words)) if label == "_unknown_" else words[0]
            speech = speak(word, *_random_voice(rng), work)
        name = f"{label.strip('_')}{i:05d}_nohash_0.wav"
        write_wav(out / label / name, make_clip(speech, rng))
        if i % SPLIT_EVERY == 0:
            splits["test"].append(f"{label}/{name}")
        elif i % SPLIT_EVERY == 1:
            splits["val"].append(f"{label}/{name}")


def synth_kws(out_dir: Path, words: list[str], per_word: int = 100, seed: int = 0,
              unknown: bool = True, silence: bool = True, progress=None, force: bool = False) -> SynthResult:
    """Write a Speech Commands-layout data set: one folder per word plus _unknown_ and _silence_
    (into a non-empty ``out_dir`` only with ``force``: its clips are written over)."""
    words = [w.strip().lower() for w in words if w.strip()]
    if len(set(words)) < 1 or len(set(words)) != len(words):
        raise DataError("need at least one word and no duplicates", hint="e.g. --words yes,no,up,down")
    if per_word < SPLIT_EVERY:
        raise DataError(f"--per-word must be at least {SPLIT_EVERY} so every split gets clips")
    out_dir = check_output_dir(out_dir, force)
    rng = np.random.default_rng(seed)
    plan = [(w, [w]) for w in words]
    if unknown:
        plan.append(("_unknown_", [w for w in UNKNOWN_WORDS if w not in words]))
    if silence:
        plan.append(("_silence_", []))
    splits: dict[str, list[str]] = {"test": [], "val": []}
    with tempfile.TemporaryDirectory() as tmp:
        for label, pool in plan:
            _write_label(out_dir, label, pool, per_word, rng, Path(tmp), splits)
            if progress:
                progress(label)
    for kind in ("white", "pink", "brown"):
        write_wav(out_dir / "_background_noise_" / f"{kind}_noise.wav", 0.3 * noise(kind, 10 * RATE, rng))
    (out_dir / "testing_list.txt").write_text("\n".join(splits["test"]) + "\n")
    (out_dir / "validation_list.txt").write_text("\n".join(splits["val"]) + "\n")
    labels = tuple(label for label, _ in plan)
    return SynthResult(out_dir, labels, {label: per_word for label in labels})
