"""`tinykit data record` through a real audio stack: PortAudio -> ALSA -> PulseAudio, whose null sink
plays a real recording of "yes" (TFLM's test clip) as the microphone. Nothing of the recorder is mocked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from audio_helpers import have_audio_stack, playing, pulse_server

from tinykit.data import layout, load_dataset
from tinykit.data.record import check_take, loudest_second, speaker_id
from tinykit.data.wav import read_wav, write_wav

FIXTURES = Path(__file__).parent / "fixtures" / "speech"
PERIOD_S = 2.5  # one word every 2.5 s; a 3 s take always holds one whole word
TIMEOUT_S = 120

pytestmark = pytest.mark.skipif(not have_audio_stack(), reason="needs pulseaudio, paplay, pactl (Makefile)")


def _word_loop(tmp: Path) -> tuple[Path, np.ndarray]:
    yes, _ = read_wav(FIXTURES / "yes_1000ms.wav")
    period = np.zeros(int(PERIOD_S * 16000), np.float32)
    period[:16000] = yes
    period += 1e-4 * np.random.default_rng(0).standard_normal(period.size).astype(np.float32)
    write_wav(tmp / "loop.wav", period)
    return tmp / "loop.wav", yes


def _tinykit(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tinykit", *args]
    return subprocess.run(cmd, input=stdin, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Peak normalised cross-correlation of two clips (1 = the same sound at some delay)."""
    n = 1 << int(np.ceil(np.log2(a.size + b.size)))
    c = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    return float(np.abs(c).max() / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pulse")
    loop, yes = _word_loop(tmp)
    with pulse_server(tmp / "run") as env, playing(loop, env):
        yield env, yes


def test_recorded_takes_are_the_spoken_word_in_the_speech_commands_layout(stack, tmp_path: Path) -> None:
    env, yes = stack
    out = tmp_path / "mine"
    res = _tinykit(["data", "record", "--words", "yes", "--speaker", "Alice", "--takes", "3", "--countdown", "0",
                    "--seconds", "3", "--yes", "-o", str(out)], env)
    assert res.returncode == 0, res.stderr[-3000:]
    sid = speaker_id("Alice")
    assert f"kept 3 clips (yes 3) in {out} as speaker {sid}" in res.stdout
    clips = sorted((out / "yes").glob("*.wav"))
    assert [c.name for c in clips] == [f"{sid}_nohash_{i}.wav" for i in range(3)]
    for c in clips:
        audio, rate = read_wav(c)
        assert rate == 16000 and audio.size == 16000
        assert _similarity(audio, yes) > 0.8, c  # what was played came back through the stack
        assert check_take(audio) == []
    split = layout.which_split(clips[0].name)
    listed = {"val": layout.read_list(out, layout.VALIDATION_LIST), "test": layout.read_list(out, layout.TESTING_LIST)}
    for s, names in listed.items():
        assert (s == split) == bool(names) and all(n.startswith("yes/") for n in names)
    assert layout.read_marker(out)["speakers"] == [sid]


def test_redo_and_quit_from_the_keyboard(stack, tmp_path: Path) -> None:
    env, _ = stack
    out = tmp_path / "mine"
    res = _tinykit(["data", "record", "--words", "no", "--speaker", "bob", "--takes", "3", "--countdown", "0",
                    "--seconds", "3", "-o", str(out)], env, stdin="r\nk\nq\n")
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stderr.count("[k]eep, [r]edo") == 3 and res.stderr.count("saved ") == 1
    assert len(list((out / "no").glob("*.wav"))) == 1 and "kept 1 clips (no 1)" in res.stdout


def test_recordings_mix_with_downloaded_and_synthetic_clips(stack, tmp_path: Path) -> None:
    """Record into a folder made by `data get speech-commands` that also holds synthetic clips."""
    from test_speech_commands import make_archive

    from tinykit.data import speech_commands as sc

    env, _ = stack
    arch = tmp_path / "sc.tar.gz"
    arch.write_bytes(make_archive())
    data = tmp_path / "data"
    sc.get(data, ["yes", "no"], archive=arch)
    synthetic = np.sin(np.arange(16000) / 3.0).astype(np.float32) * 0.3
    for i in range(10):  # synthetic clips of a made-up speaker, added with the same helper
        write_wav(data / "yes" / f"5e5e5e{i:02d}_nohash_0.wav", synthetic)
        layout.add_to_lists(data, [f"yes/5e5e5e{i:02d}_nohash_0.wav"])
    before = load_dataset(data).counts()
    res = _tinykit(["data", "record", "--words", "yes", "--speaker", "carol", "--takes", "2", "--countdown", "0",
                    "--seconds", "3", "--yes", "-o", str(data)], env)
    assert res.returncode == 0, res.stderr[-3000:]
    after = load_dataset(data)
    yes = after.labels.index("yes")
    added = {s: after.counts()[s][yes] - before[s][yes] for s in ("train", "val", "test")}
    assert sum(added.values()) == 2 and added[{"train": "train", "val": "val", "test": "test"}[
        layout.which_split(speaker_id("carol"))]] == 2


def test_no_microphone_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/nothing", "XDG_RUNTIME_DIR": str(tmp_path)}
    res = _tinykit(["data", "record", "--words", "yes", "--speaker", "a", "--countdown", "0", "--yes",
                    "-o", str(tmp_path / "o")], env)
    assert res.returncode == 2 and "error: " in res.stderr and "Traceback" not in res.stderr, res.stderr[-2000:]


@pytest.mark.parametrize("args,message", [(["--speaker", " "], "speaker name is empty"),
                                          (["--speaker", "a", "--seconds", "0.5"], "at least 1")])
def test_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    from click.testing import CliRunner

    from tinykit.cli import main

    res = CliRunner().invoke(main, ["data", "record", "--words", "yes", "-o", str(tmp_path / "o"), *args])
    assert res.exit_code == 2 and message in res.output, res.output


def test_loudest_second_finds_the_word() -> None:
    audio = np.zeros(40000, np.float32)
    audio[21000:26000] = 0.5
    clip, start = loudest_second(audio)
    assert clip.size == 16000 and start <= 21000 and start + 16000 >= 26000
    assert check_take(np.full(16000, 0.999, np.float32))[0].startswith("too loud")
    assert check_take(np.full(16000, 1e-4, np.float32))[0].startswith("too quiet")
