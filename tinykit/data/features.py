"""Audio front end: MFCC and log-mel features in numpy, parameters recorded as :class:`FeatureConfig`.

Defaults are the MLPerf Tiny KWS input: 16 kHz, 30 ms Hann window, 20 ms stride, 512-point FFT,
magnitude spectrum, 40 HTK mel bands 20-4000 Hz, ``log(mel + 1e-6)``, first 10 DCT-II
coefficients scaled as ``tf.signal.mfccs_from_log_mel_spectrograms`` does -> 49 x 10. Every
parameter is written to ``features.json`` next to a trained model so an on-device front end can
reproduce the exact computation (the formulas below are the specification).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykit import files
from tinykit.errors import DataError

FEATURES_FILE = "features.json"
KINDS = ("mfcc", "log_mel")


@dataclass(frozen=True)
class FeatureConfig:
    """Every parameter of the audio front end (defaults: MLPerf Tiny KWS, 49 frames x 10 MFCC)."""

    kind: str = "mfcc"
    sample_rate: int = 16000
    clip_samples: int = 16000
    window_ms: float = 30.0
    stride_ms: float = 20.0
    fft_length: int = 512
    window: str = "hann_periodic"
    spectrum: str = "magnitude"
    num_mel_bins: int = 40
    lower_hz: float = 20.0
    upper_hz: float = 4000.0
    mel_scale: str = "htk"
    log_offset: float = 1e-6
    num_mfcc: int = 10
    dct: str = "dct2_scaled_sqrt_2_over_n_mel"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"unknown feature kind {self.kind!r}", hint=f"use one of {', '.join(KINDS)}")
        if self.frame_length > self.fft_length:
            raise DataError(f"window of {self.frame_length} samples exceeds fft_length {self.fft_length}")
        if not 0 <= self.lower_hz < self.upper_hz <= self.sample_rate / 2:
            raise DataError(f"mel range {self.lower_hz}-{self.upper_hz} Hz invalid at {self.sample_rate} Hz")

    @property
    def frame_length(self) -> int:
        return round(self.sample_rate * self.window_ms / 1000)

    @property
    def frame_step(self) -> int:
        return round(self.sample_rate * self.stride_ms / 1000)

    @property
    def num_frames(self) -> int:
        return 1 + (self.clip_samples - self.frame_length) // self.frame_step

    @property
    def shape(self) -> tuple[int, int, int]:
        """Model input shape (frames, coefficients, 1)."""
        width = self.num_mfcc if self.kind == "mfcc" else self.num_mel_bins
        return (self.num_frames, width, 1)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.update(frame_length=self.frame_length, frame_step=self.frame_step, output_shape=list(self.shape))
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FeatureConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def save(self, directory: Path) -> Path:
        """Write ``features.json`` in ``directory`` (atomically)."""
        return write_json(Path(directory) / FEATURES_FILE, self.to_dict())

    @classmethod
    def load(cls, directory_or_file: Path) -> FeatureConfig | None:
        """Read ``features.json`` (a directory means the file inside it); None if absent."""
        path = Path(directory_or_file)
        if path.is_dir() or path.suffix != ".json":
            path = (path if path.is_dir() else path.parent) / FEATURES_FILE
        if not path.exists():
            return None
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except (ValueError, TypeError) as err:
            raise DataError(f"invalid {path}: {err}") from err


def write_json(path: Path, data: object) -> Path:
    """Write JSON atomically (temp file + rename), as every results file is."""
    return files.write_json(path, data, default=_json_default)


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)


def mel_matrix(cfg: FeatureConfig) -> np.ndarray:
    """HTK triangular filterbank [fft_length//2+1, num_mel_bins], as tf.signal.linear_to_mel_weight_matrix."""
    n_bins = cfg.fft_length // 2 + 1
    freqs = np.linspace(0.0, cfg.sample_rate / 2, n_bins)[1:]
    spec_mel = _hz_to_mel(freqs)[:, None]
    edges = np.linspace(_hz_to_mel(cfg.lower_hz), _hz_to_mel(cfg.upper_hz), cfg.num_mel_bins + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    lower_slope = (spec_mel - lower) / (center - lower)
    upper_slope = (upper - spec_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(lower_slope, upper_slope))
    return np.pad(weights, ((1, 0), (0, 0))).astype(np.float32)


def _frames(audio: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """[batch, samples] -> [batch, num_frames, frame_length] (no padding, like tf.signal.frame)."""
    idx = np.arange(cfg.num_frames)[:, None] * cfg.frame_step + np.arange(cfg.frame_length)[None, :]
    return audio[:, idx]


def log_mel(audio: np.ndarray, cfg: FeatureConfig | None = None) -> np.ndarray:
    """Log-mel spectrogram [batch, frames, mel] of clips [batch, samples] (or one clip)."""
    cfg = cfg or FeatureConfig()
    batch = np.atleast_2d(np.asarray(audio, np.float32))
    if batch.shape[1] < cfg.clip_samples:
        batch = np.pad(batch, ((0, 0), (0, cfg.clip_samples - batch.shape[1])))
    n = np.arange(cfg.frame_length)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * n / cfg.frame_length)).astype(np.float32)
    spec = np.abs(np.fft.rfft(_frames(batch[:, : cfg.clip_samples], cfg) * window, n=cfg.fft_length))
    if cfg.spectrum == "power":
        spec = spec**2
    mel = spec.astype(np.float32) @ mel_matrix(cfg)
    return np.log(mel + cfg.log_offset).astype(np.float32)


def dct_matrix(cfg: FeatureConfig) -> np.ndarray:
    """DCT-II [num_mel_bins, num_mfcc] scaled by sqrt(2 / num_mel_bins) (tf.signal's MFCC scaling)."""
    n = np.arange(cfg.num_mel_bins)[:, None]
    k = np.arange(cfg.num_mfcc)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * cfg.num_mel_bins))
    return (basis * np.sqrt(2.0 / cfg.num_mel_bins)).astype(np.float32)


def mfcc(audio: np.ndarray, cfg: FeatureConfig | None = None) -> np.ndarray:
    """MFCC [batch, frames, num_mfcc] of clips [batch, samples]."""
    cfg = cfg or FeatureConfig()
    return (log_mel(audio, cfg) @ dct_matrix(cfg)).astype(np.float32)


def compute_features(audio: np.ndarray, cfg: FeatureConfig, chunk: int = 512) -> np.ndarray:
    """Model inputs [batch, frames, coeffs, 1] for clips [batch, samples], in chunks to bound memory."""
    fn = mfcc if cfg.kind == "mfcc" else log_mel
    parts = [fn(audio[i : i + chunk], cfg) for i in range(0, len(audio), chunk)]
    if not parts:
        return np.zeros((0, *cfg.shape), np.float32)
    return np.concatenate(parts)[..., None]
