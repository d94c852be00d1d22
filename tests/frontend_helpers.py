"""Test clips for the audio front end: espeak-ng speech, noise, tones, silence (int16 PCM)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

from tinykit.data.acoustics import coloured_noise as noise
from tinykit.data.acoustics import trim
from tinykit.data.features import FeatureConfig, compute_features
from tinykit.data.voices import speak

RATE = 16000
WORDS = ("yes", "no", "stop", "seven", "marvin")


def to_pcm(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(x) * 32767.0), -32768, 32767).astype(np.int16)


def make_clip(speech: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The word at a random offset in one second, scaled, with coloured noise at 5-30 dB SNR."""
    speech = trim(speech)[:RATE]
    clip = np.zeros(RATE, np.float32)
    start = int(rng.integers(0, RATE - speech.size + 1))
    clip[start : start + speech.size] = speech / (np.abs(speech).max() + 1e-9)
    clip *= rng.uniform(0.3, 0.9)
    rms = np.sqrt(np.mean(speech**2) / (np.abs(speech).max() + 1e-9) ** 2) * np.abs(clip).max()
    clip += rms / (10 ** (rng.uniform(5.0, 30.0) / 20)) * noise(str(rng.choice(("white", "pink", "brown", "hum"))),
                                                             RATE, rng)
    return np.clip(clip, -1.0, 1.0)


def speech_clips(seed: int = 1) -> list[np.ndarray]:
    """One second clips of espeak-ng words mixed with noise (empty if espeak-ng is absent)."""
    if shutil.which("espeak-ng") is None:
        return []
    rng = np.random.default_rng(seed)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, word in enumerate(WORDS):
            voice = ("en-us", "en-gb+f2", "en-us+m3", "en-gb-scotland", "en-us+f4")[i]
            out.append(to_pcm(make_clip(speak(word, voice, 50, 160, Path(tmp)), rng)))
    return out


def synthetic_clips(seed: int = 2) -> list[np.ndarray]:
    """Noise of every colour at several levels, tones, a chirp, silence, a clipped square wave."""
    rng = np.random.default_rng(seed)
    t = np.arange(RATE) / RATE
    clips = [0.3 * noise(kind, RATE, rng) for kind in ("white", "pink", "brown", "hum")]
    clips += [1e-4 * noise("white", RATE, rng), np.zeros(RATE)]
    clips += [0.5 * np.sin(2 * np.pi * 440 * t), 0.9 * np.sin(2 * np.pi * 3100 * t) * np.exp(-3 * t)]
    clips += [0.6 * np.sin(2 * np.pi * (100 + 3000 * t) * t), np.clip(5 * np.sin(2 * np.pi * 250 * t), -1, 1)]
    return [to_pcm(c) for c in clips]


def calibrated_quantization(pcm: np.ndarray, cfg: FeatureConfig) -> tuple[float, int]:
    """Min/max int8 calibration as the TFLite converter does it (scale, zero point)."""
    x = compute_features(pcm.astype(np.float32) / 32768.0, cfg)
    lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (hi - lo) / 255.0
    return float(np.float32(scale)), round(-128 - lo / scale)
