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
import json
import math
import struct
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tinykit import __version__
from tinykit.errors import BuildError, DataError, DeviceError

REPO_DIR = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = REPO_DIR / "templates" / "stream"
MAGIC = b"\xa5\x5a"
HEADER = struct.Struct("<BBIH")  # type, flags, sample_index, length
CHUNK_SAMPLES = 512
MAX_PAYLOAD = 2 * CHUNK_SAMPLES
DEFAULT_INFER_EVERY = 4  # frames between inferences (80 ms at a 20 ms stride)
DEFAULT_SMOOTH = 3
DEFAULT_THRESHOLD = 0.6
DEFAULT_REFRACTORY = 8  # inferences
BOOT_TIMEOUT_S = 20.0
REPLY_TIMEOUT_S = 30.0
MAX_RESENDS = 3
STREAM_RECORD = "stream.json"
FLAG_POSTERIORS = 0x01


@dataclass
class StreamContext:
    """What templates/stream/tk_stream_config.h.j2 substitutes."""

    banner: str
    model_name: str
    max_payload: int
    ring_samples: int
    infer_every: int
    smooth: int
    refractory: int
    num_labels: int
    threshold_sum: int
    out_zero_point: int
    out_scale_q24: int
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
        max_payload=MAX_PAYLOAD, ring_samples=_ring_samples(cfg.frame_length), infer_every=infer_every,
        smooth=smooth, refractory=refractory, num_labels=n,
        threshold_sum=math.ceil(threshold * smooth / out.scale), out_zero_point=int(out.zero_point),
        out_scale_q24=round(out.scale * (1 << 24)), labels=list(labels),
        is_keyword=[0 if lb.startswith("_") else 1 for lb in labels])


def render_stream_config(ctx: StreamContext, path: Path) -> Path:
    """Write tk_stream_config.h (labels, detection parameters) from its typed context."""
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), undefined=StrictUndefined,
                      keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    Path(path).write_text(env.get_template("tk_stream_config.h.j2").render(ctx=ctx))
    return Path(path)


def build_stream_firmware(model_path: Path | str, board, out_dir: Path | str, **detect):
    """Build the streaming firmware of an int8 keyword model for ``board`` into ``out_dir``.

    Reuses FW's project (tinykit.firmware.build) and swaps the command runner for firmware/stream.
    """
    from tinykit.audio.frontend import fixed_for_cpu, render_for_model
    from tinykit.codegen import generate
    from tinykit.firmware import build as fw
    from tinykit.targets.boards import load_board

    b, model_path, out = load_board(board), Path(model_path), Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ctx_st = stream_context(model_path, **detect)
    lib = generate(model_path, out / fw.MODEL_SUBDIR, name="model", force=True)
    io = fw.model_io_from_graph(model_path)
    fw.precheck_fit(b, lib)
    ctx = fw.make_context(b, lib, io, energy_mode=False)
    runner = f"{fw.FIRMWARE_SUBDIR}/core/runner.c"
    ctx = dataclasses.replace(
        ctx, sources=[s for s in ctx.sources if s != runner] + [
            f"{fw.FIRMWARE_SUBDIR}/stream/tk_stream.c", "frontend/tk_frontend.c", "frontend/tk_frontend_tables.c"],
        cflags=[*ctx.cflags, "-Ifrontend", f"-I{fw.FIRMWARE_SUBDIR}/stream", "-fno-math-errno"],
        ldflags=[*ctx.ldflags, "-lm"])
    fw.render_project(ctx, lib, out)
    render_for_model(model_path, out / "frontend", fixed=fixed_for_cpu(b.cpu))
    render_stream_config(ctx_st, out / "tk_stream_config.h")
    size = fw.compile_project(ctx, out, b, lib)
    record = {"tinykit_version": __version__, "board": b.id, "mode": "stream", "model": str(model_path),
              "model_sha256": io.sha256, "toolchain": fw.toolchain_version(fw.require_tool(fw.GCC, fw.APT_TOOLCHAIN)),
              "arena_bytes": lib.arena_bytes, "weight_bytes": lib.weight_bytes, "size": dataclasses.asdict(size),
              "stream": dataclasses.asdict(ctx_st) | {"banner": None}, "command": sys.argv}
    fw.write_atomic(out / fw.BUILD_RECORD, json.dumps(record, indent=2) + "\n")
    return fw.BuildResult(elf=out / fw.ELF_NAME, dir=out, size=size, toolchain=record["toolchain"],
                          board=b.id, model_sha256=io.sha256, energy_mode=False)


def encode_frame(kind: str, index: int = 0, payload: bytes = b"", flags: int = 0) -> bytes:
    """One host->device frame: magic, header, payload, CRC-32 over header and payload."""
    if len(payload) > MAX_PAYLOAD:
        raise DataError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = HEADER.pack(ord(kind), flags, index, len(payload)) + payload
    return MAGIC + body + struct.pack("<I", zlib.crc32(body))


def _parse_kv(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(",") if "=" in item)


def _bracket(line: str) -> str:
    return line[line.index("[") + 1 : line.rindex("]")]


class StreamClient:
    """Stop-and-wait client of the stream firmware over any pyserial URL."""

    def __init__(self, url: str, baud: int = 115200, on_line: Callable[[str], None] | None = None) -> None:
        import serial

        try:
            self.port = serial.serial_for_url(url, baudrate=baud, timeout=0.2)
        except (serial.SerialException, ValueError) as err:
            raise DeviceError(f"cannot open {url}: {err}") from err
        self.on_line = on_line
        self._buf = b""

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> StreamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def readline(self, timeout: float) -> str:
        end = time.monotonic() + timeout
        while b"\n" not in self._buf:
            if time.monotonic() > end:
                raise DeviceError(f"no reply from the stream firmware within {timeout:.0f} s",
                                  hint="is the board running the stream firmware (`tinykit stream --model`)?")
            self._buf += self.port.read(self.port.in_waiting or 1)
        line, self._buf = self._buf.split(b"\n", 1)
        text = line.decode(errors="replace").strip()
        if self.on_line:
            self.on_line(text)
        return text

    def wait_ready(self, timeout: float = BOOT_TIMEOUT_S) -> None:
        end = time.monotonic() + timeout
        while self.readline(max(0.1, end - time.monotonic())) != "s-ready":
            pass

    def exchange(self, frame: bytes) -> tuple[list[str], str]:
        """Send a frame; return the lines before the final s-ack/s-nak and that final line."""
        self.port.write(frame)
        lines = []
        while True:
            line = self.readline(REPLY_TIMEOUT_S)
            if line.startswith(("s-ack-", "s-nak-")):
                return lines, line
            if line:
                lines.append(line)


def _corrupt(frame: bytes) -> bytes:
    """The frame with one payload byte flipped (tests the CRC path)."""
    data = bytearray(frame)
    data[len(MAGIC) + HEADER.size] ^= 0x40
    return bytes(data)


def _handle_lines(lines: list[str], res: StreamResult, rate: int, on_event) -> None:
    for line in lines:
        if line.startswith("s-det-["):
            label, score, sample = _bracket(line).split(",")
            det = Detection(label, int(score) / 1000.0, int(sample))
            res.detections.append(det)
            if on_event:
                on_event("detection", det)
        elif line.startswith("s-post-["):
            sample, hexbytes = _bracket(line).split(",")
            res.posteriors.append((int(sample), bytes.fromhex(hexbytes)))
        elif line.startswith("s-err-["):
            kind, a, b = _bracket(line).split(",")
            text = {"gap": f"lost audio: expected sample {a}, got {b} ({int(b) - int(a)} samples filled with silence)",
                    "dup": f"duplicate audio at sample {b} (expected {a}), dropped",
                    "sync": f"{a} stray bytes skipped before a frame"}.get(kind, line)
            res.errors.append(text)
            if on_event:
                on_event("error", text)


def _send_chunk(client: StreamClient, frame: bytes, corrupt_first: bool, res: StreamResult,
                start: int, on_event) -> None:
    for attempt in range(MAX_RESENDS + 1):
        lines, final = client.exchange(_corrupt(frame) if corrupt_first and attempt == 0 else frame)
        _handle_lines(lines, res, res.rate, on_event)
        if final.startswith("s-ack-"):
            return
        text = f"chunk at sample {start} rejected by the device ({_bracket(final)}), resent"
        res.errors.append(text)
        res.resent += 1
        if on_event:
            on_event("error", text)
    raise DeviceError(f"the device rejected the chunk at sample {start} {MAX_RESENDS + 1} times")


def reset_stream(client: StreamClient, posteriors: bool = False) -> dict[str, str]:
    """Reset the device's stream state; returns its s-info parameters."""
    lines, final = client.exchange(encode_frame("R", flags=FLAG_POSTERIORS if posteriors else 0))
    infos = [ln for ln in lines if ln.startswith("s-info-[")]
    if not final.startswith("s-ack-") or not infos:
        raise DeviceError(f"the stream firmware did not accept a reset: {final}")
    return _parse_kv(_bracket(infos[-1]))


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
        if i in drop:
            continue
        frame = encode_frame("A", start, pcm[start : start + CHUNK_SAMPLES].astype("<i2").tobytes())
        _send_chunk(client, frame, i in corrupt, res, start, on_event)
    lines, _ = client.exchange(encode_frame("S"))
    _handle_lines([ln for ln in lines if not ln.startswith("s-stats-[")], res, rate, on_event)
    stats = [ln for ln in lines if ln.startswith("s-stats-[")]
    res.stats = {k: int(v) for k, v in _parse_kv(_bracket(stats[-1])).items()} if stats else {}
    return res


def device_features(client: StreamClient, pcm: np.ndarray) -> bytes:
    """The device's int8 feature window after streaming one clip from a reset (front-end tests)."""
    reset_stream(client)
    pcm = np.asarray(pcm, np.int16)
    for start in range(0, len(pcm), CHUNK_SAMPLES):
        _, final = client.exchange(encode_frame("A", start, pcm[start : start + CHUNK_SAMPLES].astype("<i2").tobytes()))
        if not final.startswith("s-ack-"):
            raise DeviceError(f"chunk at {start} rejected: {final}")
    lines, _ = client.exchange(encode_frame("F"))
    feats = [ln for ln in lines if ln.startswith("s-feat-[")]
    if not feats:
        raise DeviceError("the stream firmware sent no features")
    return bytes.fromhex(_bracket(feats[-1]))


def read_pcm(path: Path) -> tuple[np.ndarray, int]:
    """A WAV as int16 PCM (any PCM WAV; stereo averaged)."""
    from tinykit.data.wav import read_wav

    samples, rate = read_wav(Path(path))
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype(np.int16), rate


def run_stream(build_dir: Path, board, wav: Path, port: str | None = None, posteriors: bool = False,
               on_event: Callable | None = None, on_line: Callable | None = None) -> StreamResult:
    """Flash (or start QEMU with) a stream build, stream a WAV file, return what the device reported."""
    from tinykit.firmware.build import read_build_record
    from tinykit.flash import get_flasher

    if read_build_record(build_dir).get("mode") != "stream":
        raise BuildError(f"{build_dir} is not a stream firmware build",
                         hint="build one with `tinykit stream --model MODEL.tflite` (it builds automatically)")
    pcm, rate = read_pcm(wav)
    if pcm.size == 0:
        raise DataError(f"{wav} holds no audio")
    with get_flasher(board).flash(build_dir, port) as link, StreamClient(link.url, link.baud, on_line) as client:
        client.wait_ready()
        return stream_audio(client, pcm, rate, posteriors, on_event)
