"""Recording students' own voices into a Speech Commands-layout data set, through PortAudio.

Each take: a countdown, a recording of a little more than a second from the microphone (with a
live level meter), the loudest second of it kept (the way the Speech Commands clips were cut),
a check of its level, then keep / redo / play / quit. A kept take is written at once as
``<word>/<speaker>_nohash_<n>.wav`` and entered in the validation or testing list its speaker's
hash picks (the official split), so the data set is consistent after every take and one student's
clips are never split between training and test. The speaker id is a hash of the name given;
the name itself is not stored.

Audio goes through ``sounddevice`` (PortAudio): ALSA on Linux (PulseAudio/PipeWire through ALSA's
``pulse`` device), Core Audio on macOS, WASAPI on Windows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from tinykit.data import layout
from tinykit.data.wav import resample, write_wav
from tinykit.errors import DataError, ToolMissingError
from tinykit.files import check_output_dir

RATE = 16000
BLOCK_S = 0.05
TOO_QUIET_DBFS = -40.0
CLIPPED = 0.99
EDGE_SHARE = 0.3  # the word runs off the kept second when its edges are this loud (vs the peak)
ENERGY_FRAME = RATE // 100


def sounddevice():
    """The sounddevice module, or a clear error when PortAudio is missing."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as err:
        raise ToolMissingError(f"cannot use the audio library: {err}",
                               hint="sudo apt-get install libportaudio2 (and pip install sounddevice)") from err
    return sd


def speaker_id(name: str) -> str:
    """An 8-hex-digit speaker id from a name (as Speech Commands hashes its speakers)."""
    if not name.strip():
        raise DataError("the speaker name is empty", hint="e.g. --speaker alice")
    return hashlib.sha1(name.strip().lower().encode()).hexdigest()[:8]


def dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x))) + 1e-9))


def record(seconds: float, device: int | str | None = None, on_level: Callable[[float], None] | None = None
           ) -> np.ndarray:
    """``seconds`` of mono audio at 16 kHz from the input device, reporting the level of each block."""
    sd = sounddevice()
    try:
        info = sd.query_devices(device, "input")
    except (ValueError, sd.PortAudioError) as err:
        raise DataError(f"no microphone: {err}", hint="plug one in, or list devices with "
                        "`python -m sounddevice` and pass --device") from err
    rate = RATE
    try:
        sd.check_input_settings(device, channels=1, dtype="float32", samplerate=RATE)
    except sd.PortAudioError:
        rate = int(info["default_samplerate"])  # resampled below
    block = int(BLOCK_S * rate)
    parts: list[np.ndarray] = []
    try:
        with sd.InputStream(samplerate=rate, channels=1, dtype="float32", device=device, blocksize=block) as stream:
            for _ in range(int(np.ceil(seconds / BLOCK_S))):
                data, _overflowed = stream.read(block)
                parts.append(data[:, 0].copy())
                if on_level:
                    on_level(dbfs(parts[-1]))
    except sd.PortAudioError as err:
        raise DataError(f"recording from {info['name']} failed: {err}") from err
    audio = np.concatenate(parts)[: int(seconds * rate)]
    return resample(audio, rate, RATE) if rate != RATE else audio


def loudest_second(audio: np.ndarray, length: int = RATE) -> tuple[np.ndarray, int]:
    """The ``length`` samples holding the most energy (and where they start)."""
    if audio.size <= length:
        return np.pad(audio, (0, length - audio.size)), 0
    energy = np.concatenate([[0.0], np.cumsum(np.square(audio.astype(np.float64)))])
    sums = energy[length:] - energy[:-length]
    start = int(np.argmax(sums))
    return audio[start : start + length], start


def check_take(clip: np.ndarray) -> list[str]:
    """What is wrong with a take, in words a student can act on (empty when it is fine)."""
    problems = []
    peak = float(np.abs(clip).max())
    if peak >= CLIPPED:
        problems.append("too loud (the microphone clipped): step back or speak softer")
    if dbfs(clip) < TOO_QUIET_DBFS:
        problems.append(f"too quiet ({dbfs(clip):.0f} dBFS): speak up or move closer")
    env = np.abs(clip[: clip.size // ENERGY_FRAME * ENERGY_FRAME]).reshape(-1, ENERGY_FRAME).max(1)
    if peak > 0 and max(env[0], env[-1]) > EDGE_SHARE * peak:
        problems.append("the word runs past the one-second window: say it once, shortly after 'speak'")
    return problems


@dataclass
class Take:
    word: str
    number: int
    clip: np.ndarray
    problems: list[str]


class RecorderUI(Protocol):
    """What the interactive session needs from a user interface (the CLI gives a rich one)."""

    def countdown(self, word: str, take: int, total: int) -> None: ...
    def level(self, db: float) -> None: ...
    def choose(self, take: Take) -> str: ...  # "keep", "redo", "play" or "quit"
    def saved(self, path: Path) -> None: ...


class RecordingSet:
    """A data set folder that grows one kept take at a time (always consistent on disk)."""

    def __init__(self, root: Path, speaker: str) -> None:
        self.root, self.speaker = Path(root), layout.check_speaker(speaker)
        check_output_dir(self.root, force=True)  # a folder, writable; an existing data set is added to
        if self.root.exists():
            layout.check_complete(self.root)
        self.root.mkdir(parents=True, exist_ok=True)

    def next_path(self, word: str) -> Path:
        n = 0
        while (self.root / word / f"{self.speaker}_nohash_{n}.wav").exists():
            n += 1
        return self.root / word / f"{self.speaker}_nohash_{n}.wav"

    def save(self, word: str, clip: np.ndarray) -> Path:
        path = self.next_path(word)
        write_wav(path, clip)
        layout.add_to_lists(self.root, [f"{word}/{path.name}"])
        marker = layout.read_marker(self.root) or {}
        speakers = sorted({*marker.get("speakers", []), self.speaker})
        layout.write_marker(self.root, True, speakers=speakers,
                            sources=sorted({*marker.get("sources", []), "recorded"}))
        return path


def session(out: Path, words: list[str], speaker: str, takes: int, ui: RecorderUI, seconds: float = 1.5,
            device: int | str | None = None) -> dict[str, int]:
    """Record ``takes`` kept clips of every word; returns how many were kept per word."""
    words = [w.strip().lower() for w in words if w.strip()]
    if not words:
        raise DataError("--words needs at least one word", hint="e.g. --words yes,no")
    if seconds < 1.0:
        raise DataError("--seconds must be at least 1 (a clip is one second)")
    store = RecordingSet(out, speaker)
    kept = {w: 0 for w in words}
    for word in words:
        while kept[word] < takes:
            ui.countdown(word, kept[word] + 1, takes)
            clip, _ = loudest_second(record(seconds, device, ui.level))
            take = Take(word, kept[word] + 1, clip, check_take(clip))
            choice = ui.choose(take)
            while choice == "play":
                play(clip)
                choice = ui.choose(take)
            if choice == "quit":
                return kept
            if choice == "keep":
                ui.saved(store.save(word, clip))
                kept[word] += 1
    return kept


def play(clip: np.ndarray) -> None:
    """Play a clip on the default output (so a student hears what was kept)."""
    sd = sounddevice()
    try:
        sd.play(clip, RATE, blocking=True)
    except sd.PortAudioError as err:
        raise DataError(f"cannot play the take: {err}") from err
