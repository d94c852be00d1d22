"""Synthetic speakers: espeak-ng's formant voices and, when installed, its MBROLA diphone voices.

A *speaker* is one voice with a base pitch, speed and vocal-tract scale; it says a list of items
in one espeak-ng call (SSML, one ``<prosody>`` per item with its own rate, pitch, pitch range and
emphasis, separated by long breaks), and the recording is cut at the breaks. One process per
speaker instead of one per word makes a data set of thousands of clips take seconds per hundred.

MBROLA voices (Debian packages ``mbrola-us1``, ``mbrola-us2``, ``mbrola-us3``, ``mbrola-en1``)
concatenate recorded diphones of real speakers and sound far more natural than the formant
synthesiser; they are used for about half of the speakers when present.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from tinykit.data.wav import read_wav, resample
from tinykit.errors import DataError, ToolMissingError

RATE = 16000
FORMANT_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd")
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5", "+klatt")
MBROLA_VOICES = ("mb-us1", "mb-us2", "mb-us3", "mb-en1")
MBROLA_DIR = Path("/usr/share/mbrola")
MBROLA_SHARE = 0.5
BREAK_MS = 700
ESPEAK_TIMEOUT_S = 120
RATES = ("x-slow", "slow", "medium", "fast")
RANGES = ("low", "medium", "high", "x-high")
EMPHASIS = ("none", "none", "moderate", "strong")
ENDINGS = ("", "", ".", "!", "?", ",")


def espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise ToolMissingError("espeak-ng is not installed", hint="sudo apt-get install espeak-ng")
    return exe


@cache
def mbrola_voices() -> tuple[str, ...]:
    """The MBROLA voices espeak-ng can use here (the mbrola program and the voice's data)."""
    if shutil.which("mbrola") is None:
        return ()
    return tuple(v for v in MBROLA_VOICES if (MBROLA_DIR / v[3:]).is_dir())


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: voice, base pitch (0-99), speed (words per minute), vocal-tract scale."""

    voice: str
    pitch: int
    speed: int
    tract: float  # resampling factor: > 1 a shorter vocal tract (higher formants), < 1 a longer one

    @property
    def id(self) -> str:
        import hashlib

        key = f"{self.voice}/{self.pitch}/{self.speed}/{self.tract:.3f}"
        return hashlib.sha1(key.encode()).hexdigest()[:8]


def random_speaker(rng: np.random.Generator) -> Speaker:
    mb = mbrola_voices()
    if mb and rng.random() < MBROLA_SHARE:
        voice = str(rng.choice(mb))
    else:
        voice = str(rng.choice(FORMANT_VOICES)) + str(rng.choice(VARIANTS))
    return Speaker(voice, int(rng.integers(25, 76)), int(rng.integers(120, 201)), float(rng.uniform(0.88, 1.15)))


def ssml_item(text: str, rng: np.random.Generator) -> str:
    """One item with its own prosody: rate, pitch shift, pitch range, emphasis and end punctuation."""
    body = html.escape(text) + str(rng.choice(ENDINGS))
    emph = str(rng.choice(EMPHASIS))
    if emph != "none":
        body = f'<emphasis level="{emph}">{body}</emphasis>'
    pitch = int(rng.integers(-20, 21))
    return (f'<prosody rate="{rng.choice(RATES)}" pitch="{pitch:+d}%" range="{rng.choice(RANGES)}">'
            f"{body}</prosody>")


def _segments(samples: np.ndarray, n: int) -> list[np.ndarray]:
    """Cut a recording of ``n`` items at the ``n - 1`` longest silences (the SSML breaks)."""
    frame = RATE // 100
    env = np.abs(samples[: samples.size // frame * frame]).reshape(-1, frame).max(1)
    loud = env > 0.02 * (env.max() + 1e-9)
    idx = np.nonzero(loud)[0]
    if idx.size == 0:
        raise DataError("espeak-ng produced silence")
    gaps = np.diff(idx)
    cuts = np.sort(np.argsort(-gaps, kind="stable")[: n - 1]) if n > 1 else np.array([], int)
    if n > 1 and gaps[cuts].min() < BREAK_MS // 20:
        raise DataError(f"could not find {n} items in espeak-ng's output")
    starts = np.concatenate([[idx[0]], idx[cuts + 1]])
    ends = np.concatenate([idx[cuts], [idx[-1]]]) + 1
    return [samples[s * frame : e * frame] for s, e in zip(starts, ends, strict=True)]


def speak_items(speaker: Speaker, items: list[str], rng: np.random.Generator, workdir: Path) -> list[np.ndarray]:
    """Every item said by ``speaker`` with its own prosody; float32 at 16 kHz (vocal tract applied).

    When the recording cannot be cut into exactly one piece per item (an item with a long pause
    of its own), each item is spoken on its own instead."""
    ssml = [ssml_item(t, rng) for t in items]
    try:
        return _segments(_run(speaker, ssml, workdir), len(items))
    except DataError:
        if len(items) == 1:
            raise
    return [_segments(_run(speaker, [one], workdir), 1)[0] for one in ssml]


def _run(speaker: Speaker, ssml: list[str], workdir: Path) -> np.ndarray:
    body = f'<break time="{BREAK_MS}ms"/>'.join(ssml)
    text = f'<speak><break time="200ms"/>{body}<break time="{BREAK_MS}ms"/></speak>'
    out = workdir / f"{speaker.id}-{len(ssml)}-{abs(hash(body))}.wav"
    cmd = [espeak(), "-m", "-z", "-w", str(out), "-v", speaker.voice, "-p", str(speaker.pitch),
           "-s", str(speaker.speed), text]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=ESPEAK_TIMEOUT_S)
        samples, rate = read_wav(out)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        raise DataError(f"espeak-ng failed with voice {speaker.voice}: {err}") from err
    finally:
        out.unlink(missing_ok=True)
    # resampling to RATE / tract and reading it as RATE scales every frequency by `tract`
    return resample(samples, rate, round(RATE / speaker.tract))


def speak(word: str, voice: str, pitch: int, speed: int, workdir: Path) -> np.ndarray:
    """One word, plainly, by one voice (the lab's sentence and the front-end tests use this)."""
    out = workdir / "w.wav"
    cmd = [espeak(), "-w", str(out), "-v", voice, "-p", str(pitch), "-s", str(speed), word]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=ESPEAK_TIMEOUT_S)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        raise DataError(f"espeak-ng failed for {word!r} with voice {voice}: {err}") from err
    samples, rate = read_wav(out)
    return resample(samples, rate, RATE)
