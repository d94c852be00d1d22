"""The sound of a room and its background, in numpy: noise, music, reverberation, microphones.

What makes synthetic words sound like words a microphone picked up in a classroom: the room
(reverberation from a synthetic impulse response: a direct path, a few early reflections and an
exponentially decaying diffuse tail with a random RT60), the microphone and its amplifier (band
limits, level), and what else is audible (coloured noise, mains hum, other voices, music) at a
random signal-to-noise ratio. Both the data synthesiser (once, into the clips) and training (anew
every epoch) use these functions; each takes a seeded generator, so a seed gives the same audio.
"""

from __future__ import annotations

import numpy as np

RATE = 16000
NOTE_A4 = 440.0
MAX_NOTE_S = 2.5


def unit_rms(x: np.ndarray) -> np.ndarray:
    return (x / (np.sqrt(np.mean(np.square(x))) + 1e-12)).astype(np.float32)


def coloured_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white, pink (1/f power) or brown (1/f^2) noise, or mains hum with harmonics."""
    if kind == "hum":
        t = np.arange(n) / RATE
        base = float(rng.choice([50.0, 60.0]))
        sig = sum(np.sin(2 * np.pi * base * h * t + rng.uniform(0, 6.3)) / h for h in (1, 2, 3, 5))
        return unit_rms(sig + 0.1 * rng.standard_normal(n))
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.arange(spec.size), 1.0)
    spec = spec / {"white": 1.0, "pink": np.sqrt(f), "brown": f}[kind]
    return unit_rms(np.fft.irfft(spec, n))


def _partials(freq: float, n: int, rng: np.random.Generator, kind: str) -> np.ndarray:
    """One note of an instrument family, as decaying partials (no per-sample loops).

    pluck: harmonics whose upper partials die first (guitar, harp); piano: slightly stretched
    (inharmonic) partials; pad: slow attack, vibrato, sustained (organ, strings); bass: a
    low sawtooth. Each note gets its own brightness and decay."""
    t = np.arange(n) / RATE
    out = np.zeros(n)
    bright = rng.uniform(0.3, 0.85)
    stretch = rng.uniform(0.0002, 0.0008) if kind == "piano" else 0.0
    vibrato = 1 + (0.003 * np.sin(2 * np.pi * rng.uniform(4, 6.5) * t) if kind == "pad" else 0)
    for h in range(1, 13 if kind != "bass" else 8):
        f = freq * h * np.sqrt(1 + stretch * h * h)
        if f >= RATE / 2 - 200:
            break
        amp = bright ** (h - 1) / (h if kind == "bass" else 1)
        if amp < 0.02:
            break
        decay = {"pluck": 0.25 + 0.6 / h, "piano": 0.5 + 1.5 / h, "pad": 9.0, "bass": 0.6}[kind]
        out += amp * np.sin(2 * np.pi * f * vibrato * t + rng.uniform(0, 6.3)) * np.exp(-t / decay)
    attack = 0.15 if kind == "pad" else 0.005
    return out * np.minimum(1.0, t / attack)


def _sung_vowel(freq: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """A sung vowel: a pulse train at the note's pitch shaped by two formants, with vibrato."""
    t = np.arange(n) / RATE
    f1, f2 = [(730, 1090), (570, 840), (300, 870), (530, 1840), (270, 2290)][int(rng.integers(5))]
    pitch = freq * (1 + 0.005 * np.sin(2 * np.pi * 5.5 * t))
    phase = np.cumsum(pitch) / RATE
    out = np.zeros(n)
    for h in range(1, 40):
        f = freq * h
        if f > 5000:
            break
        gain = 1 / (1 + ((f - f1) / 90) ** 2) + 0.5 / (1 + ((f - f2) / 110) ** 2) + 0.02 / h
        out += gain * np.sin(2 * np.pi * h * phase)
    return out * np.minimum(1.0, t / 0.05) * np.minimum(1.0, (n - np.arange(n)) / (0.05 * RATE))


def _drum(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / RATE
    if kind == "kick":
        return np.sin(2 * np.pi * (45 + 120 * np.exp(-t / 0.03)) * t) * np.exp(-t / rng.uniform(0.08, 0.2))
    noise = rng.standard_normal(n)
    if kind == "hat":
        return np.diff(noise, prepend=0) * np.exp(-t / rng.uniform(0.01, 0.04)) * 0.1
    return (0.4 * noise + np.sin(2 * np.pi * 190 * t)) * np.exp(-t / rng.uniform(0.04, 0.1)) * 0.3  # snare


def _note(key: int, scale: list[int], degree: int, octave: int) -> float:
    return NOTE_A4 * 2 ** ((key + scale[degree % 7] + 12 * (octave + degree // 7)) / 12)


def music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A few bars of synthetic music in a random style: chords, bass, melody (played or sung), drums."""
    n = int(seconds * RATE)
    out = np.zeros(n + 2 * RATE)
    beat = 60.0 / rng.uniform(60, 170)
    key, scale = int(rng.integers(-9, 3)), ([0, 2, 3, 5, 7, 8, 10] if rng.random() < 0.5 else [0, 2, 4, 5, 7, 9, 11])
    chord_kind, lead = str(rng.choice(["pluck", "piano", "pad"])), str(rng.choice(["pluck", "piano", "pad", "sung"]))
    drums = rng.random() < 0.75
    progression = rng.choice([[0, 5, 3, 4], [0, 3, 4, 0], [0, 4, 5, 3], [5, 3, 0, 4]])
    for b in range(int(seconds / beat) + 1):
        start, degree = int(b * beat * RATE), int(progression[(b // 4) % 4])
        if b % 4 == 0:
            length = int(min(4 * beat, MAX_NOTE_S) * RATE)
            for step in (0, 2, 4):
                out[start : start + length] += 0.2 * _partials(_note(key, scale, degree + step, -1), length, rng,
                                                              chord_kind)[: out.size - start]
        if b % 2 == 0:
            length = int(2 * beat * RATE)
            out[start : start + length] += 0.35 * _partials(_note(key, scale, degree, -3), length, rng,
                                                           "bass")[: out.size - start]
        for _ in range(int(rng.integers(1, 3))):  # melody and counter-melody
            length = int(beat * RATE * rng.choice([1, 1, 2]))
            f = _note(key, scale, int(rng.integers(0, 8)), 0)
            tone = _sung_vowel(f, length, rng) * 0.15 if lead == "sung" else _partials(f, length, rng, lead) * 0.3
            out[start : start + length] += tone[: out.size - start]
        if drums:
            for kind, when in (("kick", b % 2 == 0), ("snare", b % 2 == 1), ("hat", True)):
                if when:
                    out[start : start + RATE // 4] += _drum(kind, RATE // 4, rng)[: out.size - start]
    return unit_rms(convolve(out[:n], room_impulse(rng, float(rng.uniform(0.2, 0.6)))))


def babble(voices: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """Several people talking at once: speech recordings overlaid at random offsets and levels."""
    out = np.zeros(n, np.float64)
    for v in voices:
        v = unit_rms(np.tile(v, n // max(v.size, 1) + 2))
        start = int(rng.integers(0, v.size - n + 1))
        out += rng.uniform(0.3, 1.0) * v[start : start + n]
    return unit_rms(out)


def room_impulse(rng: np.random.Generator, rt60: float | None = None) -> np.ndarray:
    """A synthetic room: direct sound, early reflections and a diffuse tail decaying 60 dB in RT60."""
    rt60 = rt60 if rt60 is not None else float(rng.uniform(0.15, 0.8))
    n = int(min(rt60, 1.0) * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.003 * RATE)] = 0
    h = tail * rng.uniform(0.1, 0.5) / (np.sqrt(np.sum(tail**2)) + 1e-12)
    h[0] = 1.0
    for _ in range(int(rng.integers(3, 8))):
        h[int(rng.uniform(0.002, 0.03) * RATE)] += rng.uniform(-0.6, 0.6)
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


def convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """``x`` through the impulse response ``h`` (FFT convolution, cut to the length of ``x``)."""
    size = 1 << int(np.ceil(np.log2(x.shape[-1] + h.size)))
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)
    return y[..., : x.shape[-1]].astype(np.float32)


def microphone(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A cheap microphone and amplifier: random low and high cut-offs and a gentle spectral tilt."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(x.size, 1 / RATE)
    low, high = rng.uniform(50, 300), rng.uniform(3500, 8000)
    gain = 1 / np.sqrt(1 + (low / np.maximum(f, 1)) ** 4) / np.sqrt(1 + (f / high) ** 4)
    gain *= (np.maximum(f, 100) / 1000) ** rng.uniform(-0.3, 0.3)
    return np.fft.irfft(spec * gain, x.size).astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech + noise`` with the noise scaled to ``snr_db`` below the speech's active level."""
    active = np.abs(speech) > 0.1 * (np.abs(speech).max() + 1e-12)
    level = np.sqrt(np.mean(np.square(speech[active]))) if active.any() else 0.0
    return (speech + unit_rms(noise) * level / 10 ** (snr_db / 20)).astype(np.float32)


def trim(samples: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    """Cut leading and trailing silence (below ``threshold`` of the peak)."""
    loud = np.nonzero(np.abs(samples) > threshold * (np.abs(samples).max() + 1e-9))[0]
    return samples[loud[0] : loud[-1] + 1] if loud.size else samples
