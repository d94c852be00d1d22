"""Audio augmentation for training, new every epoch: time shift, room, background, level, SpecAugment.

A keyword model that only ever heard clean clips fails on a classroom microphone. Every epoch,
each training waveform is shifted in time, sometimes played through a synthetic room, mixed with a
random piece of the data set's ``_background_noise_`` at a random signal-to-noise ratio (clips of
``_silence_`` get background at a random level instead), and scaled to a random level; then its
log-mel spectrogram loses a few random time frames and mel bands (SpecAugment, Park et al. 2019)
before the DCT that makes MFCCs. The features the model sees are computed exactly as the device
computes them; only their content varies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinykit.data import acoustics as ac
from tinykit.data.features import FeatureConfig, dct_matrix, log_mel

SILENCE = "_silence_"
RIR_BANK = 24


@dataclass(frozen=True)
class AugmentConfig:
    shift_ms: int = 100
    noise_p: float = 0.8
    snr_db: tuple[float, float] = (5.0, 30.0)
    silence_dbfs: tuple[float, float] = (-70.0, -14.0)  # RMS of the background of a _silence_ clip
    reverb_p: float = 0.15
    gain_db: tuple[float, float] = (-18.0, 6.0)
    time_masks: int = 2
    time_mask_frames: int = 6
    freq_masks: int = 2
    freq_mask_bins: int = 6


def _shift(wave: np.ndarray, shift: int) -> np.ndarray:
    out = np.zeros_like(wave)
    if shift >= 0:
        out[shift:] = wave[: wave.size - shift]
    else:
        out[:shift] = wave[-shift:]
    return out


def _background(bank: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray | None:
    usable = [b for b in bank if b.size >= n]
    if not usable:
        return None
    src = usable[int(rng.integers(len(usable)))]
    start = int(rng.integers(0, src.size - n + 1))
    return src[start : start + n]


def augment_waves(waves: np.ndarray, labels: np.ndarray, names: tuple[str, ...], background: list[np.ndarray],
                  cfg: AugmentConfig, rng: np.random.Generator, rate: int) -> np.ndarray:
    """New training waveforms: shifted, reverberated, mixed with background, scaled (float32, clipped)."""
    out = np.empty_like(waves)
    rirs = [ac.room_impulse(rng) for _ in range(RIR_BANK)] if cfg.reverb_p > 0 else []
    max_shift = rate * cfg.shift_ms // 1000
    silence = names.index(SILENCE) if SILENCE in names else -1
    for i, wave in enumerate(waves):
        x = _shift(wave, int(rng.integers(-max_shift, max_shift + 1)))
        is_silence = labels[i] == silence
        if rirs and not is_silence and rng.random() < cfg.reverb_p:
            x = ac.convolve(x, rirs[int(rng.integers(len(rirs)))])
        bg = _background(background, x.size, rng) if rng.random() < cfg.noise_p else None
        if bg is not None and is_silence:
            x = x + ac.unit_rms(bg) * 10 ** (rng.uniform(*cfg.silence_dbfs) / 20)
        elif bg is not None:
            x = ac.mix_at_snr(x, bg, rng.uniform(*cfg.snr_db))
        out[i] = x * 10 ** (rng.uniform(*cfg.gain_db) / 20)
    return np.clip(out, -1.0, 1.0)


def spec_augment(mel: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Random time and frequency bands of each log-mel spectrogram [batch, frames, bins] set to its mean."""
    mel = mel.copy()
    frames, bins = mel.shape[1:]
    for m in mel:
        fill = m.mean()
        for _ in range(cfg.time_masks):
            w = int(rng.integers(0, cfg.time_mask_frames + 1))
            t0 = int(rng.integers(0, frames - w + 1))
            m[t0 : t0 + w, :] = fill
        for _ in range(cfg.freq_masks):
            w = int(rng.integers(0, cfg.freq_mask_bins + 1))
            f0 = int(rng.integers(0, bins - w + 1))
            m[:, f0 : f0 + w] = fill
    return mel


def augmented_features(waves: np.ndarray, fcfg: FeatureConfig, cfg: AugmentConfig, rng: np.random.Generator,
                       chunk: int = 512) -> np.ndarray:
    """Model inputs [batch, frames, coeffs, 1] with SpecAugment applied before the DCT."""
    parts = []
    for i in range(0, len(waves), chunk):
        mel = spec_augment(log_mel(waves[i : i + chunk], fcfg), cfg, rng)
        parts.append(mel @ dct_matrix(fcfg) if fcfg.kind == "mfcc" else mel)
    return np.concatenate(parts).astype(np.float32)[..., None]
