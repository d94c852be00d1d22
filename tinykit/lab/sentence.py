"""The lab's streaming test: a WAV of keywords between noise, and matching detections to what was said."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

SENTENCE_GAP_S = (0.9, 1.3)  # silence + noise between keywords
SENTENCE_NOISE = 0.01
SENTENCE_VOICE = ("en-us", 50, 150)


def make_sentence(words: list[str], path: Path, seed: int = 0) -> list[dict]:
    """A WAV of keywords separated by silence and noise; returns where each word is (samples)."""
    from tinykit.data.acoustics import RATE, trim
    from tinykit.data.acoustics import coloured_noise as noise
    from tinykit.data.voices import speak
    from tinykit.data.wav import write_wav

    rng = np.random.default_rng(seed)
    parts, truth, pos = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for word in words:
            gap = int(rng.uniform(*SENTENCE_GAP_S) * RATE)
            parts.append(SENTENCE_NOISE * noise(str(rng.choice(["pink", "white", "brown"])), gap, rng))
            speech = trim(speak(word, *SENTENCE_VOICE, Path(tmp)))
            speech = 0.5 * speech / (np.abs(speech).max() + 1e-9)
            parts.append(speech + SENTENCE_NOISE * noise("pink", speech.size, rng))
            truth.append({"word": word, "start": pos + gap, "end": pos + gap + speech.size})
            pos += gap + speech.size
    parts.append(SENTENCE_NOISE * noise("pink", RATE, rng))
    write_wav(path, np.clip(np.concatenate(parts), -1, 1))
    return truth


def match_detections(truth: list[dict], detections: list[dict], window: int) -> dict:
    """Each spoken keyword needs one detection of that word whose window covers the word's middle."""
    used, rows = set(), []
    for t in truth:
        mid = (t["start"] + t["end"]) // 2
        hit = next((i for i, d in enumerate(detections) if i not in used and d["label"] == t["word"]
                    and d["sample"] - window <= mid <= d["sample"]), None)
        if hit is not None:
            used.add(hit)
        rows.append({**t, "detected": hit is not None,
                     "detection": detections[hit] if hit is not None else None})
    extra = [d for i, d in enumerate(detections) if i not in used]
    return {"words": rows, "found": sum(r["detected"] for r in rows), "expected": len(truth),
            "false_alarms": extra}
