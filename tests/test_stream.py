"""Streaming keyword detection: framing, fault reporting, incremental features, QEMU end to end."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from frontend_helpers import speech_clips, synthetic_clips
from stream_helpers import have_tools, host_harness, reference_kws_dir, run_harness

from tinykit.audio import frontend as fe
from tinykit.audio import stream as st
from tinykit.cli import main
from tinykit.errors import BuildError
from tinykit.flash import get_flasher

needs_qemu = pytest.mark.skipif(not have_tools("qemu-system-arm", "arm-none-eabi-gcc"),
                                reason="qemu-system-arm and arm-none-eabi-gcc are needed")


def test_frame_layout_and_crc() -> None:
    payload = struct.pack("<3h", 1, -2, 3)
    frame = st.encode_frame("A", 1234, payload)
    assert frame[:2] == b"\xa5\x5a"
    kind, flags, index, length = st.HEADER.unpack(frame[2:10])
    assert (chr(kind), flags, index, length) == ("A", 0, 1234, 6)
    assert frame[10:16] == payload
    assert struct.unpack("<I", frame[16:])[0] == zlib.crc32(frame[2:16])
    assert st.corrupt_frame(frame) != frame and len(st.corrupt_frame(frame)) == len(frame)


def test_stream_context_from_model(tmp_path: Path) -> None:
    model = reference_kws_dir(tmp_path)
    ctx = st.stream_context(model, threshold=0.5, smooth=4)
    assert ctx.num_labels == 12 and ctx.labels[-1] == "_unknown_"
    assert ctx.is_keyword == [1] * 10 + [0, 0]
    assert ctx.out_zero_point == -128 and ctx.out_scale_q24 == 1 << 16  # softmax output 1/256
    assert ctx.threshold_sum == 512  # 0.5 * 4 / (1/256)
    assert ctx.ring_samples == 1024


def test_stream_context_rejects_label_mismatch(tmp_path: Path) -> None:
    model = reference_kws_dir(tmp_path)
    (tmp_path / "labels.json").write_text('["a", "b"]')
    with pytest.raises(BuildError, match="names 2 classes"):
        st.stream_context(model)


@pytest.mark.parametrize("args,message", [
    (["missing.wav", "--model", "m.tflite"], "does not exist"),
    (["{wav}"], "exactly one of --model"),
    (["{wav}", "--model", "m.tflite", "--build", "b"], "exactly one of --model"),
    (["{wav}", "--model", "nope.tflite"], "model nope.tflite does not exist"),
    (["{wav}", "--build", "{tmp}"], "not a tinykit firmware build"),
])
def test_cli_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    wav = tmp_path / "a.wav"
    from tinykit.data.wav import write_wav

    write_wav(wav, np.zeros(1600, np.float32))
    args = [a.format(wav=wav, tmp=tmp_path) for a in args]
    res = CliRunner().invoke(main, ["stream", *args])
    assert res.exit_code == 2, res.output
    assert "error: " in res.output and message in res.output


@pytest.fixture(scope="module")
def m4_build(tmp_path_factory) -> Path:
    if not have_tools("qemu-system-arm", "arm-none-eabi-gcc"):
        pytest.skip("qemu-system-arm and arm-none-eabi-gcc are needed")
    tmp = tmp_path_factory.mktemp("stream_m4")
    model = reference_kws_dir(tmp / "model")
    st.build_stream_firmware(model, "qemu-m4", tmp / "build")
    return tmp


def _device_agreement(build: Path, board: str, clips: list[np.ndarray], model: Path) -> dict:
    cfg = fe.feature_config_for(model)
    scale, zp = fe.input_quantization(model)
    with get_flasher(board).flash(build) as link, st.StreamClient(link.url) as client:
        client.wait_ready()
        got = [np.frombuffer(st.device_features(client, p), np.int8) for p in clips]
    ref = fe.python_reference(np.stack(clips), cfg, scale, zp)
    return fe.agreement(np.stack(got).reshape(ref.shape), ref)


@pytest.mark.qemu
def test_frontend_on_qemu_m4_float(m4_build: Path) -> None:
    speech = speech_clips()
    clips = speech[:1] + synthetic_clips()[6:7] if speech else synthetic_clips()[:2]
    res = _device_agreement(m4_build / "build", "qemu-m4", clips, m4_build / "model" / "model.tflite")
    assert res["max_diff"] <= 1 and res["equal_fraction"] >= 0.99, res


@pytest.mark.qemu
@pytest.mark.slow
def test_frontend_on_qemu_m3_fixed_point(tmp_path: Path) -> None:
    if not have_tools("qemu-system-arm", "arm-none-eabi-gcc"):
        pytest.skip("qemu-system-arm and arm-none-eabi-gcc are needed")
    model = reference_kws_dir(tmp_path / "model")
    st.build_stream_firmware(model, "qemu-m3", tmp_path / "build")
    assert "#define TK_FE_FIXED 1" in (tmp_path / "build" / "frontend" / "tk_frontend_config.h").read_text()
    speech = speech_clips()
    clips = speech[:2] + synthetic_clips()[6:7] if speech else synthetic_clips()[:3]
    res = _device_agreement(tmp_path / "build", "qemu-m3", clips, model)
    assert res["max_diff"] <= 1 and res["equal_fraction"] >= 0.99, res


@pytest.mark.qemu
def test_faults_are_reported_and_positions_stay_aligned(m4_build: Path) -> None:
    """A dropped chunk is a reported gap filled with silence, a corrupted one is NAKed and resent,
    stray bytes are reported; inference positions stay on the frame grid throughout."""
    rng = np.random.default_rng(0)
    pcm = (rng.standard_normal(16000 + 6 * 320) * 2000).astype(np.int16)
    with get_flasher("qemu-m4").flash(m4_build / "build") as link, st.StreamClient(link.url) as client:
        client.wait_ready()
        res = st.stream_audio(client, pcm, 16000, posteriors=True, drop=frozenset({3}), corrupt=frozenset({5}))
        client.write_raw(b"junk!")
        lines, final = client.exchange(st.encode_frame("S"))

    assert any("lost audio: expected sample 1536, got 2048" in e for e in res.errors), res.errors
    assert any("chunk at sample 2560 rejected by the device (crc), resent" in e for e in res.errors)
    assert res.resent == 1
    assert res.stats["lost_samples"] == 512 and res.stats["samples"] == len(pcm)
    assert res.stats["frames"] == 1 + (len(pcm) - 480) // 320
    ends = [s for s, _ in res.posteriors]
    assert ends == [15840 + i * 4 * 320 for i in range(len(ends))] and len(ends) == 2
    assert any("s-err-[sync,5,0]" in ln for ln in lines) and final.startswith("s-ack-")


@pytest.mark.qemu
def test_streamed_window_output_equals_oracle(m4_build: Path) -> None:
    """The inference on the incrementally built window equals the reference runtime on the
    device's own feature bytes: streaming changes nothing in the model's arithmetic."""
    from tinykit.oracle import reference_outputs

    clip = synthetic_clips()[0]
    with get_flasher("qemu-m4").flash(m4_build / "build") as link, st.StreamClient(link.url) as client:
        client.wait_ready()
        res = st.stream_audio(client, clip, 16000, posteriors=True)
        feats = st.device_features(client, clip)
    assert [s for s, _ in res.posteriors] == [15840]
    oracle = reference_outputs(m4_build / "model" / "model.tflite", [feats])[0][0]
    assert res.posteriors[0][1] == oracle


def _chunks(pcm: np.ndarray, start: int = 0) -> list[bytes]:
    return [st.encode_frame("A", start + i, pcm[i : i + st.CHUNK_SAMPLES].astype("<i2").tobytes())
            for i in range(0, len(pcm), st.CHUNK_SAMPLES)]


def _post(*labels: int, n: int = 3) -> bytes:
    """One certain posterior per listed label index."""
    out = bytearray()
    for k in labels:
        row = [-128] * n
        row[k] = 127
        out += np.array(row, np.int8).tobytes()
    return bytes(out)


@pytest.mark.host
def test_detection_logic_smoothing_and_release(tmp_path: Path) -> None:
    """Host-compiled stream firmware with a scripted fake model: the smoothed score of 'yes'
    crosses 0.6 at the 4th inference (2 of 3 posteriors), fires once, fires again only after the
    score has fallen and the refractory period passed."""
    exe = host_harness(tmp_path, ["_silence_", "yes", "no"], refractory=2)
    pcm = np.zeros(16000 + 60 * 320, np.int16)  # 109 frames -> inferences at frames 49, 53, ..., 109
    post = _post(0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0)
    lines = run_harness(exe, [st.encode_frame("R"), *_chunks(pcm), st.encode_frame("S")], post)
    dets = [ln for ln in lines if ln.startswith("s-det-")]
    # inference i ends at sample (48 + 4 i) * 320 + 480; 2 certain posteriors of 3: 510/3/256 = 0.664
    assert dets == ["s-det-[yes,664,19680]", "s-det-[yes,664,29920]"], lines  # inferences 3 and 11
    stats = next(ln for ln in lines if ln.startswith("s-stats-"))
    assert "frames=109,inferences=16" in stats and f"samples={len(pcm)}" in stats


@pytest.mark.host
def test_cut_frame_times_out_duplicates_are_dropped(tmp_path: Path) -> None:
    exe = host_harness(tmp_path, ["_silence_", "yes", "no"])
    pcm = np.arange(1024, dtype=np.int16)
    first, second = _chunks(pcm)
    lines = run_harness(exe, [st.encode_frame("R"), first[:30], 60_000, first, first, second, b"\x00\x01",
                              st.encode_frame("X")])
    finals = [ln for ln in lines if ln.startswith(("s-ack-", "s-nak-", "s-err-"))]
    assert finals == ["s-ack-[0]", "s-nak-[timeout]", "s-ack-[512]", "s-err-[dup,512,0]", "s-ack-[512]",
                      "s-ack-[1024]", "s-err-[sync,2,0]", "s-nak-[type]"], lines


@pytest.mark.host
def test_oversized_frame_is_refused(tmp_path: Path) -> None:
    exe = host_harness(tmp_path, ["_silence_", "yes"])
    header = b"\xa5\x5a" + st.HEADER.pack(ord("A"), 0, 0, st.MAX_PAYLOAD + 2)
    lines = run_harness(exe, [header, st.encode_frame("S")])
    assert "s-nak-[len]" in lines and any(ln.startswith("s-stats-[samples=0") for ln in lines)


@pytest.mark.qemu
def test_stream_cli_json(m4_build: Path, tmp_path: Path) -> None:
    import json

    from tinykit.data.wav import write_wav

    wav = tmp_path / "a.wav"
    write_wav(wav, 0.05 * np.sin(np.arange(17000) / 3.0))
    res = CliRunner().invoke(main, ["stream", str(wav), "--board", "qemu-m4", "--build", str(m4_build / "build"),
                                    "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["samples"] == 17000 and out["unit"] == "instructions" and out["errors"] == []
    assert out["stats"]["frames"] == 1 + (17000 - 480) // 320 and out["stats"]["inferences"] == 1
    assert out["instructions_per_audio_second"] > 0 and out["clock_hz"] == 25_000_000
    assert out["real_time_fraction"] == pytest.approx(out["instructions_per_audio_second"] / 25e6, rel=1e-3)
