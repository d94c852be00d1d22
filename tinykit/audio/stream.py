"""Streaming keyword detection: build the stream firmware, send audio over serial, collect detections.

The stream firmware (``firmware/stream/tk_stream.c``) is the normal firmware project of
:mod:`tinykit.firmware.build` (startup, HAL, UART, timer, generated model and glue) with the command runner
replaced by the streaming loop and the C audio front end added. Audio goes to the device in
binary frames with a CRC-32 and the stream position of their first sample (framing in
``firmware/stream/tk_stream.h``); the device answers every frame with one final line, so the host
sends the next chunk only when the device has processed the last one (stop-and-wait: nothing is
lost on a UART without flow control). Corrupted frames are resent and reported, lost ones are
reported by the device as gaps and filled with silence so sample positions stay right.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinykit import __version__
from tinykit.device.stream import (
    CHUNK_SAMPLES,
    FLAG_POSTERIORS,
    HEADER,
    MAX_PAYLOAD,
    StreamClient,
    corrupt_frame,
    encode_frame,
    parse_kv,
    parse_reply,
)
from tinykit.errors import BuildError, DataError, DeviceError
from tinykit.files import write_atomic
from tinykit.firmware.apps import FirmwareApp
from tinykit.firmware.context import FIRMWARE_SUBDIR
from tinykit.render import render_template
from tinykit.targets.boards import Board

DEFAULT_INFER_EVERY = 4  # frames between inferences (80 ms at a 20 ms stride)
DEFAULT_SMOOTH = 3
DEFAULT_THRESHOLD = 0.6
DEFAULT_REFRACTORY = 8  # inferences
STREAM_CONFIG = "tk_stream_config.h"
FRONTEND_SUBDIR = "frontend"

__all__ = ["CHUNK_SAMPLES", "HEADER", "MAX_PAYLOAD", "Detection", "StreamApp", "StreamClient", "StreamContext",
           "StreamResult", "build_stream_firmware", "corrupt_frame", "device_features", "encode_frame",
           "read_pcm", "run_stream", "stream_audio", "stream_context"]


@dataclass
class StreamContext:
    """What templates/stream/tk_stream_config.h.j2 substitutes."""

    banner: str
    model_name: str
    ring_samples: int
    # detection: when to infer, how to smooth, when to fire
    infer_every: int
    smooth: int
    refractory: int
    num_labels: int
    threshold_sum: int
    out_zero_point: int
    out_scale_q24: int
    max_payload: int = MAX_PAYLOAD  # the framing's (tinykit.device.stream)
    labels: list[str] = field(default_factory=list)
    is_keyword: list[int] = field(default_factory=list)


@dataclass
class Detection:
    label: str
    score: float
    sample: int  # end of the one-second window that triggered it

    def seconds(self, rate: int) -> float:
        return self.sample / rate


@dataclass
class StreamResult:
    """Everything a stream run produced (detections, reported faults, device work per audio second)."""

    detections: list[Detection]
    errors: list[str]
    stats: dict[str, int]
    info: dict[str, str]
    samples: int
    rate: int
    clock_hz: int
    emulated: bool
    posteriors: list[tuple[int, bytes]] = field(default_factory=list)
    resent: int = 0

    @property
    def audio_seconds(self) -> float:
        return self.samples / self.rate if self.rate else 0.0

    @property
    def cycles_per_audio_second(self) -> float:
        total = self.stats.get("fe_cycles", 0) + self.stats.get("nn_cycles", 0)
        return total / self.audio_seconds if self.audio_seconds else 0.0

    @property
    def real_time_fraction(self) -> float:
        """Device compute time / audio time at the board's clock (< 1 keeps up with real time)."""
        return self.cycles_per_audio_second / self.clock_hz if self.clock_hz else 0.0

    def to_dict(self) -> dict:
        unit = "instructions" if self.emulated else "cycles"
        return {"detections": [dataclasses.asdict(d) | {"seconds": round(d.seconds(self.rate), 3)}
                               for d in self.detections],
                "errors": self.errors, "resent": self.resent, "stats": self.stats, "samples": self.samples,
                "audio_seconds": self.audio_seconds, "unit": unit,
                f"{unit}_per_audio_second": round(self.cycles_per_audio_second),
                "clock_hz": self.clock_hz, "real_time_fraction": round(self.real_time_fraction, 4)}


def _ring_samples(frame_length: int) -> int:
    return 1 << math.ceil(math.log2(frame_length + CHUNK_SAMPLES))


def stream_context(model_path: Path, infer_every: int = DEFAULT_INFER_EVERY, smooth: int = DEFAULT_SMOOTH,
                   threshold: float = DEFAULT_THRESHOLD, refractory: int = DEFAULT_REFRACTORY) -> StreamContext:
    """Labels, output quantization and detection parameters of an int8 keyword model."""
    from tinykit.audio.frontend import feature_config_for
    from tinykit.ir import read_model
    from tinykit.train.artifacts import read_labels

    cfg = feature_config_for(model_path)
    graph = read_model(Path(model_path))
    out = graph.tensors[graph.outputs[0]]
    if out.dtype != "int8" or out.quantization is None:
        raise BuildError(f"{model_path}: output 0 is {out.dtype}; streaming needs an int8 classifier")
    n = int(np.prod(out.shape))
    labels = read_labels(Path(model_path)) or [f"class{i}" for i in range(n)]
    if len(labels) != n:
        raise BuildError(f"labels.json next to {model_path} names {len(labels)} classes, the model has {n}")
    if not all(lb.replace("_", "").replace("-", "").isalnum() for lb in labels):
        raise BuildError(f"labels {labels} must be letters, digits, '_' or '-' to be printed by the device")
    if not (1 <= infer_every <= cfg.num_frames and 1 <= smooth <= 32 and 0.0 < threshold <= 1.0):
        raise BuildError("need 1 <= infer_every <= frames, 1 <= smooth <= 32 and 0 < threshold <= 1")
    return StreamContext(
        banner=f"generated by tinykit {__version__}, do not edit", model_name=Path(model_path).name,
        ring_samples=_ring_samples(cfg.frame_length), infer_every=infer_every,
        smooth=smooth, refractory=refractory, num_labels=n,
        threshold_sum=math.ceil(threshold * smooth / out.scale), out_zero_point=int(out.zero_point),
        out_scale_q24=round(out.scale * (1 << 24)), labels=list(labels),
        is_keyword=[0 if lb.startswith("_") else 1 for lb in labels])


def render_stream_config(ctx: StreamContext, path: Path) -> Path:
    """Write tk_stream_config.h (labels, detection parameters) from its typed context."""
    return write_atomic(path, render_template("stream", "tk_stream_config.h.j2", ctx=ctx))


@dataclass(frozen=True)
class StreamApp(FirmwareApp):
    """The streaming detector: the stream loop and the C audio front end instead of the runner."""

    mode = "stream"
    model_path: Path
    config: StreamContext

    def sources(self) -> list[str]:
        return [f"{FIRMWARE_SUBDIR}/stream/tk_stream.c", f"{FRONTEND_SUBDIR}/tk_frontend.c",
                f"{FRONTEND_SUBDIR}/tk_frontend_tables.c"]

    def cflags(self) -> list[str]:
        return [f"-I{FRONTEND_SUBDIR}", f"-I{FIRMWARE_SUBDIR}/stream", "-fno-math-errno"]

    def ldflags(self) -> list[str]:
        return ["-lm"]

    def render(self, out_dir: Path, board: Board) -> None:
        from tinykit.audio.frontend import render_for_model

        render_for_model(self.model_path, out_dir / FRONTEND_SUBDIR, fixed=not board.cpu_spec.fpu)
        render_stream_config(self.config, out_dir / STREAM_CONFIG)

    def record(self) -> dict[str, Any]:
        return {"stream": dataclasses.asdict(self.config) | {"banner": None}}


def build_stream_firmware(model_path: Path | str, board, out_dir: Path | str, **detect):
    """Build the streaming firmware of an int8 keyword model for ``board`` into ``out_dir``."""
    from tinykit.firmware.build import build_firmware

    app = StreamApp(Path(model_path), stream_context(Path(model_path), **detect))
    return build_firmware(model_path, board, out_dir, app=app)


ERROR_TEXT = {
    "gap": "lost audio: expected sample {0}, got {1} ({2} samples filled with silence)",
    "dup": "duplicate audio at sample {1} (expected {0}), dropped",
    "sync": "{0} stray bytes skipped before a frame",
}


def _report(res: StreamResult, on_event, kind: str, item) -> None:
    (res.detections if kind == "detection" else res.errors).append(item)
    if on_event:
        on_event(kind, item)


def _handle_lines(lines: list[str], res: StreamResult, on_event) -> None:
    """Detections, posteriors and device-side stream errors from a frame's report lines."""
    for line in lines:
        reply = parse_reply(line)
        if reply is None:
            continue
        f = reply.groups
        if reply.kind == "det" and len(f) == 3:
            _report(res, on_event, "detection", Detection(f[0], int(f[1]) / 1000.0, int(f[2])))
        elif reply.kind == "post" and len(f) == 2:
            res.posteriors.append((int(f[0]), bytes.fromhex(f[1])))
        elif reply.kind == "err" and len(f) == 3:
            template = ERROR_TEXT.get(f[0])
            text = template.format(f[1], f[2], int(f[2]) - int(f[1])) if template else line
            _report(res, on_event, "error", text)


def _replies(lines: list[str], kind: str) -> list[tuple[str, ...]]:
    return [r.groups for r in map(parse_reply, lines) if r is not None and r.kind == kind]


def _pcm_frame(pcm: np.ndarray, start: int) -> bytes:
    return encode_frame("A", start, pcm[start : start + CHUNK_SAMPLES].astype("<i2").tobytes())


def reset_stream(client: StreamClient, posteriors: bool = False) -> dict[str, str]:
    """Reset the device's stream state; returns its s-info parameters."""
    lines, final = client.exchange(encode_frame("R", flags=FLAG_POSTERIORS if posteriors else 0))
    infos = _replies(lines, "info")
    if not final.startswith("s-ack-") or not infos:
        raise DeviceError(f"the stream firmware did not accept a reset: {final}")
    return parse_kv(infos[-1])


def _send_chunk(client: StreamClient, pcm: np.ndarray, start: int, corrupt: bool, res: StreamResult,
                on_event) -> None:
    frame = _pcm_frame(pcm, start)
    lines, rejected = client.send(frame, corrupt_frame(frame) if corrupt else None)
    _handle_lines(lines, res, on_event)
    for reason in rejected:
        res.resent += 1
        _report(res, on_event, "error", f"chunk at sample {start} rejected by the device ({reason}), resent")


def stream_audio(client: StreamClient, pcm: np.ndarray, rate: int, posteriors: bool = False,
                 on_event: Callable | None = None, drop: frozenset[int] = frozenset(),
                 corrupt: frozenset[int] = frozenset()) -> StreamResult:
    """Send int16 PCM chunk by chunk; ``drop``/``corrupt`` are chunk numbers (fault injection)."""
    info = reset_stream(client, posteriors)
    if int(info.get("rate", rate)) != rate:
        raise DataError(f"audio is {rate} Hz but the model expects {info['rate']} Hz",
                        hint="resample the WAV (tinykit reads any rate with tinykit.data.wav.resample)")
    res = StreamResult([], [], {}, info, len(pcm), rate, int(info.get("clock", 0)),
                       info.get("emulated") == "1")
    pcm = np.asarray(pcm, np.int16)
    for i, start in enumerate(range(0, len(pcm), CHUNK_SAMPLES)):
        if i not in drop:
            _send_chunk(client, pcm, start, i in corrupt, res, on_event)
    lines, _ = client.send(encode_frame("S"))
    _handle_lines(lines, res, on_event)
    stats = _replies(lines, "stats")
    res.stats = {k: int(v) for k, v in parse_kv(stats[-1]).items()} if stats else {}
    return res


def device_features(client: StreamClient, pcm: np.ndarray) -> bytes:
    """The device's int8 feature window after streaming one clip from a reset (front-end tests)."""
    reset_stream(client)
    pcm = np.asarray(pcm, np.int16)
    for start in range(0, len(pcm), CHUNK_SAMPLES):
        client.send(_pcm_frame(pcm, start))
    feats = _replies(client.send(encode_frame("F"))[0], "feat")
    if not feats:
        raise DeviceError("the stream firmware sent no features")
    return bytes.fromhex(feats[-1][0])


def read_pcm(path: Path) -> tuple[np.ndarray, int]:
    """A WAV as int16 PCM (any PCM WAV; stereo averaged)."""
    from tinykit.data.wav import read_wav

    samples, rate = read_wav(Path(path))
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16), rate


def run_stream(build_dir: Path, board, wav: Path, port: str | None = None, posteriors: bool = False,
               on_event: Callable | None = None, trace: Callable[[str], None] | None = None) -> StreamResult:
    """Flash (or start QEMU with) a stream build, stream a WAV file, return what the device reported."""
    from tinykit.firmware.build import read_build_record
    from tinykit.flash import get_flasher

    if read_build_record(build_dir).get("mode") != "stream":
        raise BuildError(f"{build_dir} is not a stream firmware build",
                         hint="build one with `tinykit stream --model MODEL.tflite` (it builds automatically)")
    pcm, rate = read_pcm(wav)
    if pcm.size == 0:
        raise DataError(f"{wav} holds no audio")
    with get_flasher(board).flash(build_dir, port) as link, StreamClient(link.url, link.baud, trace) as client:
        client.wait_ready()
        return stream_audio(client, pcm, rate, posteriors, on_event)
