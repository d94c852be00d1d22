"""Mono 16-bit PCM WAV I/O and resampling in plain numpy.

The standard library's :mod:`wave` reads PCM; resampling is done in the frequency domain so no
scipy is needed. Wrong-rate files are *resampled* (never refused): the loader reports how many.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from tinykit.errors import DataError
from tinykit.files import atomic_path

_SAMPLE_SCALE = {1: 128.0, 2: 32768.0, 4: 2147483648.0}


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Read a PCM WAV as float32 in [-1, 1] (stereo is averaged to mono); returns (samples, rate)."""
    try:
        with wave.open(str(path), "rb") as w:
            rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError, OSError) as err:
        raise DataError(f"cannot read WAV {path}: {err}", hint="files must be PCM .wav") from err
    if width not in _SAMPLE_SCALE:
        raise DataError(f"unsupported WAV sample width {8 * width} bits in {path}")
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    else:
        dtype = np.int16 if width == 2 else np.int32
        data = np.frombuffer(raw, dtype).astype(np.float32) / _SAMPLE_SCALE[width]
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data.astype(np.float32), rate


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> None:
    """Write float samples in [-1, 1] as a 16-bit mono WAV (atomically)."""
    pcm = np.clip(np.round(np.asarray(samples) * 32767.0), -32768, 32767).astype("<i2")
    with atomic_path(path, suffix=".wav") as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling by truncating / zero-padding the spectrum (like scipy's resample)."""
    if rate_in == rate_out or samples.size == 0:
        return samples.astype(np.float32)
    n_out = max(1, round(samples.size * rate_out / rate_in))
    spec = np.fft.rfft(samples.astype(np.float64))
    n_bins = n_out // 2 + 1
    out_spec = np.zeros(n_bins, np.complex128)
    keep = min(n_bins, spec.size)
    out_spec[:keep] = spec[:keep]
    out = np.fft.irfft(out_spec, n_out) * (n_out / samples.size)
    return out.astype(np.float32)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Zero-pad or truncate to exactly ``length`` samples (clips are 1 s in Speech Commands)."""
    if samples.size >= length:
        return samples[:length]
    return np.pad(samples, (0, length - samples.size))
