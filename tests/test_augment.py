"""Training augmentation and the acoustics it draws on: rooms, microphones, backgrounds, SpecAugment."""

from __future__ import annotations

import numpy as np
import pytest

from tinykit.data import acoustics as ac
from tinykit.data.features import FeatureConfig, compute_features
from tinykit.train.augment import AugmentConfig, augment_waves, augmented_features, spec_augment


def _snr_db(clean: np.ndarray, mixed: np.ndarray) -> float:
    active = np.abs(clean) > 0.1 * np.abs(clean).max()
    return float(10 * np.log10(np.mean(clean[active] ** 2) / np.mean((mixed - clean)[active] ** 2)))


def test_mix_at_snr_hits_the_requested_ratio() -> None:
    rng = np.random.default_rng(0)
    speech = np.sin(np.arange(16000) / 7.0).astype(np.float32) * np.hanning(16000).astype(np.float32)
    for snr in (0.0, 10.0, 25.0):
        mixed = ac.mix_at_snr(speech, ac.coloured_noise("pink", 16000, rng), snr)
        assert _snr_db(speech, mixed) == pytest.approx(snr, abs=1.0)


def test_room_impulse_decays_as_its_rt60_says() -> None:
    h = ac.room_impulse(np.random.default_rng(1), rt60=0.5)
    assert h.size == 8000 and np.argmax(np.abs(h)) == 0 and np.sum(h**2) == pytest.approx(1.0, rel=1e-4)
    late = lambda a, b: float(np.sum(h[int(a * 16000) : int(b * 16000)] ** 2))  # noqa: E731
    assert late(0.1, 0.2) > 5 * late(0.3, 0.4)  # 60 dB in 0.5 s: ~24 dB between these windows


def test_music_is_tonal_and_deterministic() -> None:
    a = ac.music(3.0, np.random.default_rng(5))
    b = ac.music(3.0, np.random.default_rng(5))
    assert a.shape == (48000,) and np.array_equal(a, b)
    spec = np.abs(np.fft.rfft(a))
    assert spec.max() > 20 * np.median(spec)  # notes: peaks far above the floor, unlike noise


def test_augmented_waves_keep_silence_quiet_and_words_audible() -> None:
    rng = np.random.default_rng(2)
    word = np.zeros(16000, np.float32)
    word[6000:10000] = 0.5 * np.sin(np.arange(4000) / 3.0)
    waves = np.stack([word, np.zeros(16000, np.float32)])
    bg = [ac.coloured_noise("white", 48000, rng)]
    out = augment_waves(waves, np.array([1, 0]), ("_silence_", "yes"), bg, AugmentConfig(noise_p=1.0), rng, 16000)
    assert out.shape == waves.shape and np.abs(out).max() <= 1.0
    assert np.sqrt(np.mean(out[1] ** 2)) < 0.3 and np.abs(out[0]).max() > 0.05


def test_spec_augment_masks_bands_and_frames() -> None:
    cfg = AugmentConfig(time_masks=1, time_mask_frames=6, freq_masks=1, freq_mask_bins=6)
    rng = np.random.default_rng(3)
    mel = rng.standard_normal((20, 49, 40)).astype(np.float32)
    masked = spec_augment(mel, cfg, rng)
    changed = masked != mel
    assert changed.any() and not changed.all() and mel.std() > 0.5  # the input is left alone
    feats = augmented_features(rng.standard_normal((3, 16000)).astype(np.float32) * 0.1, FeatureConfig(),
                               AugmentConfig(time_masks=0, freq_masks=0), rng)
    plain = compute_features(np.zeros((1, 16000), np.float32), FeatureConfig())
    assert feats.shape == (3, *plain.shape[1:])
