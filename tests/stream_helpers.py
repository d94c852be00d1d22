"""Fixtures for streaming tests: a keyword model directory and the sentence WAV generator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tinykit.data.features import FeatureConfig
from tinykit.models import reference_model

# The MLPerf Tiny KWS model's classes (its output order).
MLPERF_KWS_LABELS = ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "_silence_", "_unknown_"]


def reference_kws_dir(tmp: Path) -> Path:
    """The bundled int8 KWS model with a features.json and labels.json next to it.

    Its weights were trained with another front end, so its detections mean nothing; it exercises
    the stream firmware, the front end and the protocol without training a model.
    """
    tmp.mkdir(parents=True, exist_ok=True)
    model = tmp / "model.tflite"
    shutil.copyfile(reference_model("kws"), model)
    FeatureConfig().save(tmp)
    (tmp / "labels.json").write_text(json.dumps(MLPERF_KWS_LABELS))
    return model


def have_tools(*names: str) -> bool:
    return all(shutil.which(n) for n in names)



REPO = Path(__file__).resolve().parent.parent


def host_harness(tmp: Path, labels: list[str], smooth: int = 3, threshold: float = 0.6, infer_every: int = 4,
                 refractory: int = 8, timeout_us: int = 50000) -> Path:
    """Compile the stream firmware with firmware/stream/host/tk_stream_host.c (fake board and model)."""
    import math
    import subprocess

    from tinykit.audio import frontend as fe
    from tinykit.audio import stream as st

    fe_src = fe.render_frontend(FeatureConfig(), 0.5, 0, tmp / "frontend", fixed=False)
    ctx = st.StreamContext(banner="test", model_name="fake", max_payload=st.MAX_PAYLOAD, ring_samples=1024,
                           infer_every=infer_every, smooth=smooth, refractory=refractory, num_labels=len(labels),
                           threshold_sum=math.ceil(threshold * smooth * 256), out_zero_point=-128,
                           out_scale_q24=1 << 16, labels=labels,
                           is_keyword=[0 if lb.startswith("_") else 1 for lb in labels])
    st.render_stream_config(ctx, tmp / "tk_stream_config.h")
    (tmp / "tk_board.h").write_text('#define TK_BOARD_ID "host"\n#define TK_CLOCK_HZ 1000000u\n'
                                    "#define TK_EMULATED 0\n#define TK_INPUT_BYTES 490u\n")
    exe = tmp / "tk_stream_host"
    cmd = ["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-DTK_STREAM_NO_MAIN",
           f"-DTK_ST_RX_TIMEOUT_US={timeout_us}u", f"-I{tmp}", f"-I{REPO / 'firmware/include'}",
           f"-I{REPO / 'firmware/stream'}", *[f"-I{d}" for d in fe_src.include_dirs],
           str(REPO / "firmware/stream/tk_stream.c"), str(REPO / "firmware/core/tk_io.c"),
           str(REPO / "firmware/stream/host/tk_stream_host.c"),
           *map(str, fe_src.sources), "-lm", "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return exe


def run_harness(exe: Path, script: list, posteriors: bytes = b"") -> list[str]:
    """Replay a script (bytes = received, int = microseconds without bytes); the device's lines."""
    import struct
    import subprocess

    data = b"".join(struct.pack("<cI", b"B", len(x)) + x if isinstance(x, bytes) else struct.pack("<cI", b"W", x)
                    for x in script)
    (exe.parent / "script.bin").write_bytes(data)
    (exe.parent / "post.bin").write_bytes(posteriors)
    proc = subprocess.run([str(exe), str(exe.parent / "script.bin"), str(exe.parent / "post.bin")],
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode().split("\r\n")
