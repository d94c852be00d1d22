"""Data sets, the synthetic keyword generator and the audio front end."""

from __future__ import annotations

import hashlib
import json
import shutil
import wave
from pathlib import Path

import numpy as np
import pipeline_helpers
import pytest
from pipeline_helpers import PER_WORD, WORDS, assert_user_error, run_cli

from tinykit.data import FeatureConfig, load_dataset, mfcc
from tinykit.data.datasets import hash_split
from tinykit.data.features import log_mel
from tinykit.data.synth import synth_kws
from tinykit.data.wav import read_wav, resample, write_wav
from tinykit.errors import DataError, ToolMissingError

# session fixtures shared by the pipeline tests
tiny_kws = pipeline_helpers.tiny_kws


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.is_file():
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _tone_set(root: Path, labels=("a", "b"), n=12, rate=16000) -> Path:
    for k, label in enumerate(labels):
        for i in range(n):
            t = np.arange(rate) / rate
            write_wav(root / label / f"clip{i}_nohash_0.wav", 0.5 * np.sin(2 * np.pi * (300 + 400 * k) * t), rate)
    return root


def test_synth_layout_and_counts(tiny_kws):
    labels = sorted(p.name for p in tiny_kws.iterdir() if p.is_dir())
    assert labels == sorted([*WORDS, "_silence_", "_background_noise_"])
    for w in WORDS:
        clips = sorted((tiny_kws / w).glob("*.wav"))
        assert len(clips) == PER_WORD
        with wave.open(str(clips[0])) as fh:
            assert (fh.getframerate(), fh.getnchannels(), fh.getsampwidth(), fh.getnframes()) == (16000, 1, 2, 16000)
    tests = (tiny_kws / "testing_list.txt").read_text().split()
    vals = (tiny_kws / "validation_list.txt").read_text().split()
    assert all((tiny_kws / t).exists() for t in tests + vals)
    total = 4 * PER_WORD
    assert 0.05 * total <= len(tests) <= 0.2 * total and 0.05 * total <= len(vals) <= 0.2 * total
    # splits are by speaker: no synthetic speaker is both trained on and tested on
    speaker = lambda p: p.split("/")[1].split("_nohash_")[0]  # noqa: E731
    everyone = {speaker(f"{d.name}/{f.name}") for d in tiny_kws.iterdir() if d.is_dir() for f in d.glob("*.wav")}
    held = {speaker(p) for p in tests} | {speaker(p) for p in vals}
    assert {speaker(p) for p in tests}.isdisjoint({speaker(p) for p in vals}) and held < everyone
    ds = load_dataset(tiny_kws)
    assert all(n > 0 for n in ds.counts()["test"])
    assert ds.input_shape == (49, 10, 1) and len(ds.background) == 4 + 6  # noise colours and hum, music


def test_synth_is_deterministic_and_seed_matters(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYKIT_CACHE", str(tmp_path / "cache-a"))
    a = synth_kws(tmp_path / "a", ["on", "off"], per_word=10, seed=3).directory
    monkeypatch.setenv("TINYKIT_CACHE", str(tmp_path / "cache-b"))  # synthesised again, not copied
    b = synth_kws(tmp_path / "b", ["on", "off"], per_word=10, seed=3).directory
    c = synth_kws(tmp_path / "c", ["on", "off"], per_word=10, seed=4).directory
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    assert sorted(p.name for p in a.iterdir() if p.is_dir()) == ["_background_noise_", "_silence_",
                                                                   "_unknown_", "off", "on"]


def test_synth_clips_contain_speech_louder_than_silence(tiny_kws):
    speech = np.mean([np.abs(read_wav(f)[0]).max() for f in (tiny_kws / "yes").glob("*.wav")])
    silence = np.mean([np.sqrt(np.mean(read_wav(f)[0] ** 2)) for f in (tiny_kws / "_silence_").glob("*.wav")])
    assert speech > 0.25 and silence < 0.15


def test_synth_errors(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="per-word"):
        synth_kws(tmp_path / "x", ["yes"], per_word=3)
    with pytest.raises(DataError, match="duplicates"):
        synth_kws(tmp_path / "x", ["yes", "yes"], per_word=10)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ToolMissingError) as err:
        synth_kws(tmp_path / "y", ["yes"], per_word=10)
    assert "apt-get install espeak-ng" in err.value.hint


def test_synth_cli_refuses_nonempty_dir(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f").write_text("x")
    assert_user_error(run_cli("data", "synth-kws", "-o", tmp_path / "out", "--words", "yes,no"), "not empty")
    ok = run_cli("data", "synth-kws", "-o", tmp_path / "new", "--words", "yes,no", "--per-word", "10")
    assert ok.exit_code == 0, ok.output
    assert "50 clips in 4 classes" in ok.output  # 2 x 10 words, 20 _unknown_ (twice a word), 10 _silence_


def test_mfcc_matches_tensorflow_signal():
    import tensorflow as tf

    audio = np.random.default_rng(0).normal(0, 0.1, (2, 16000)).astype(np.float32)
    stft = tf.abs(tf.signal.stft(audio, 480, 320, 512))
    mel = tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 4000.0)
    log_m = tf.math.log(tf.tensordot(stft, mel, 1) + 1e-6)
    ref = tf.signal.mfccs_from_log_mel_spectrograms(log_m)[..., :10].numpy()
    got = mfcc(audio)
    assert got.shape == (2, 49, 10)
    np.testing.assert_allclose(got, ref, atol=2e-3)
    np.testing.assert_allclose(log_mel(audio), log_m.numpy(), atol=2e-3)


def test_feature_config_roundtrip_and_validation(tmp_path):
    cfg = FeatureConfig(kind="log_mel", num_mel_bins=32)
    cfg.save(tmp_path)
    data = json.loads((tmp_path / "features.json").read_text())
    assert data["frame_length"] == 480 and data["frame_step"] == 320 and data["output_shape"] == [49, 32, 1]
    assert FeatureConfig.load(tmp_path) == cfg
    assert FeatureConfig.load(tmp_path / "model.keras") == cfg
    assert FeatureConfig().shape == (49, 10, 1)
    with pytest.raises(DataError):
        FeatureConfig(kind="wavelet")
    with pytest.raises(DataError):
        FeatureConfig(upper_hz=9000)


def test_resample_preserves_tone():
    t = np.arange(22050) / 22050
    out = resample(np.sin(2 * np.pi * 440 * t).astype(np.float32), 22050, 16000)
    assert out.size == 16000
    peak = np.argmax(np.abs(np.fft.rfft(out)))
    assert peak == 440


def test_wrong_rate_wavs_are_resampled_and_noted(tmp_path):
    root = _tone_set(tmp_path / "d", n=12, rate=8000)
    ds = load_dataset(root)
    assert ds.waves["train"].shape[1] == 16000
    assert any("resampled" in n and "8000 Hz" in n for n in ds.notes)


def test_hash_split_is_deterministic_and_ignores_nohash_suffix():
    assert hash_split("yes/abc_nohash_0.wav") == hash_split("yes/abc_nohash_3.wav")
    splits = [hash_split(f"w/{i:04x}_nohash_0.wav") for i in range(1000)]
    assert 50 < splits.count("val") < 150 and 50 < splits.count("test") < 150


@pytest.mark.parametrize("case", ["missing", "empty_label", "single_class", "no_labels", "bad_wav", "few"])
def test_audio_loader_errors(tmp_path, case):
    root = tmp_path / "d"
    if case != "missing":
        _tone_set(root, labels=("a",) if case == "single_class" else ("a", "b"), n=2 if case == "few" else 12)
    if case == "empty_label":
        (root / "c").mkdir()
    if case == "no_labels":
        shutil.rmtree(root)
        root.mkdir()
        (root / "x.txt").write_text("")
    if case == "bad_wav":
        (root / "a" / "broken_nohash_0.wav").write_bytes(b"RIFF1234garbage")
    with pytest.raises(DataError):
        load_dataset(root)
    assert_user_error(run_cli("data", "info", root))


def test_images_and_mismatched_shapes(tmp_path):
    import tensorflow as tf

    for label in ("cat", "dog"):
        for i in range(12):
            img = np.full((8, 8, 3), 40 if label == "cat" else 200, np.uint8)
            (tmp_path / "img" / label).mkdir(parents=True, exist_ok=True)
            tf.io.write_file(str(tmp_path / "img" / label / f"{i}.png"), tf.io.encode_png(img))
    ds = load_dataset(tmp_path / "img")
    assert ds.kind == "image" and ds.input_shape == (8, 8, 3) and ds.labels == ("cat", "dog")
    assert 0.1 < ds.x["train"].mean() < 0.9
    tf.io.write_file(str(tmp_path / "img" / "dog" / "big.png"), tf.io.encode_png(np.zeros((9, 9, 3), np.uint8)))
    with pytest.raises(DataError, match="others are"):
        load_dataset(tmp_path / "img")


def test_npz_arrays(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "ok.npz", x=rng.normal(size=(50, 4)), y=rng.integers(0, 3, 50))
    ds = load_dataset(tmp_path / "ok.npz")
    assert ds.kind == "array" and sum(len(v) for v in ds.y.values()) == 50 and ds.num_classes == 3
    np.savez(tmp_path / "ae.npz", x=rng.normal(size=(20, 8)))
    assert load_dataset(tmp_path / "ae.npz").labels == ()
    np.savez(tmp_path / "bad.npz", x=rng.normal(size=(50, 4)), y=np.zeros(49))
    with pytest.raises(DataError, match="49"):
        load_dataset(tmp_path / "bad.npz")
    np.savez(tmp_path / "one.npz", x=rng.normal(size=(50, 4)), y=np.zeros(50))
    with pytest.raises(DataError, match="single class"):
        load_dataset(tmp_path / "one.npz")
    np.savez(tmp_path / "nox.npz", data=np.zeros(3))
    assert_user_error(run_cli("data", "info", tmp_path / "nox.npz"), "no 'x'")


def test_data_info_json(tiny_kws):
    res = run_cli("data", "info", tiny_kws, "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["kind"] == "audio" and info["input_shape"] == [49, 10, 1]
    assert info["features"]["num_mfcc"] == 10 and len(info["labels"]) == 4
