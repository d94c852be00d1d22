"""docs/labs/kws.md runs as written: every step in order on a fresh folder, its promised output checked.

The fast test checks that every `tinykit` command of the handout parses (command, options) and
every skipped step says why; the slow one executes the handout (the one-command lab first, then the
step-by-step, which reuses the lab's cached data, training and candidates) and then checks the
lab's own results (bit-exact device, every keyword of the sentence found).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import numpy as np
import pytest
from handout import SKIP_REASONS, pattern, steps
from stream_helpers import have_tools

from tinykit.cli import main

STEP_TIMEOUT_S = 3600


def _parse(args: list[str]) -> None:
    """Resolve a `tinykit ...` command line to its command and parse its options (nothing runs)."""
    ctx = main.make_context("tinykit", list(args), resilient_parsing=False)
    cmd, rest = main, ctx.protected_args + ctx.args
    while isinstance(cmd, click.Group):
        name, cmd, rest = cmd.resolve_command(ctx, rest)
        ctx = cmd.make_context(name, rest, parent=ctx)
        rest = ctx.protected_args + ctx.args if isinstance(cmd, click.Group) else []


def test_every_step_parses_and_every_skip_says_why() -> None:
    all_steps = steps()
    assert len(all_steps) >= 12
    for step in all_steps:
        if step.skip:
            assert step.skip.startswith(SKIP_REASONS), f"line {step.line}: skip reason {step.skip!r}"
        for argv in step.commands():
            if argv and argv[0] == "tinykit":
                try:
                    _parse(argv[1:])
                except click.exceptions.Exit:  # --version, --help: valid, they just stop early
                    pass
                except click.BadParameter as err:  # files an earlier step makes do not exist here
                    if "does not exist" not in str(err):
                        pytest.fail(f"docs/labs/kws.md line {step.line}: `{' '.join(argv)}`: {err}")
                except click.UsageError as err:
                    pytest.fail(f"docs/labs/kws.md line {step.line}: `{' '.join(argv)}`: {err}")
    runnable = [s for s in all_steps if not s.skip]
    assert any("lab kws" in s.script for s in runnable) and any("tinykit stream" in s.script for s in runnable)


def test_expected_output_patterns() -> None:
    assert pattern("wrote … clips in 6 classes to data").search("wrote 1400 clips in 6 classes to data")
    assert not pattern("flash used 46,900").search("flash used 46,901")


@pytest.fixture(scope="module")
def handout_run(tmp_path_factory) -> tuple[Path, list[tuple[str, str]]]:
    if not have_tools("espeak-ng", "qemu-system-arm", "arm-none-eabi-gcc"):
        pytest.skip("espeak-ng, qemu-system-arm and arm-none-eabi-gcc are needed")
    work = tmp_path_factory.mktemp("handout")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    outputs = []
    for step in steps():
        if step.skip:
            continue
        proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", step.script], cwd=work, env=env,
                              capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
        text = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"docs/labs/kws.md line {step.line}:\n{step.script}\n{text[-4000:]}"
        for line in step.expected:
            assert pattern(line).search(text), (f"docs/labs/kws.md line {step.line}: promised output "
                                                f"{line!r} not in:\n{text[-4000:]}")
        outputs.append((step.script, text))
    return work, outputs


@pytest.mark.slow
@pytest.mark.qemu
def test_handout_runs_as_written(handout_run) -> None:
    work, outputs = handout_run
    assert (work / "out" / "lab" / "report.html").exists() and (work / "fit" / "pareto.png").exists()
    for script, text in outputs:  # TensorFlow's own messages went to tensorflow.log, not the terminal
        assert "oneDNN" not in text and "cuda" not in text.lower() and "retracing" not in text, script


@pytest.mark.slow
@pytest.mark.qemu
def test_the_labs_device_matches_the_host_and_finds_every_keyword(handout_run) -> None:
    work, _ = handout_run
    lab = json.loads((work / "out" / "lab" / "lab.json").read_text())
    m, s = lab["stages"]["measure"], lab["stages"]["stream"]
    assert m["mismatched_bytes"] == 0 and m["validation"]["checked"]
    assert m["accuracy"] == m["host_accuracy"]
    assert s["errors"] == []
    assert s["match"]["found"] == s["match"]["expected"], s["match"]
    assert s["match"]["false_alarms"] == []


@pytest.mark.slow
@pytest.mark.qemu
def test_the_lab_model_hears_real_people_on_the_device(handout_run, tmp_path: Path) -> None:
    """TFLM's real 'yes' and 'no' (Speech Commands recordings) streamed to the lab's deployed model."""
    from tinykit.data.acoustics import coloured_noise
    from tinykit.data.wav import read_wav, write_wav
    from tinykit.lab.sentence import match_detections

    work, _ = handout_run
    fixtures = Path(__file__).parent / "fixtures" / "speech"
    rng = np.random.default_rng(0)
    parts, truth, pos = [np.zeros(16000, np.float32)], [], 16000
    for word in ("yes", "no"):
        clip, _ = read_wav(fixtures / f"{word}_1000ms.wav")
        loud = np.nonzero(np.abs(clip) > 0.1 * np.abs(clip).max())[0]
        truth.append({"word": word, "start": pos + int(loud[0]), "end": pos + int(loud[-1])})
        parts += [clip, np.zeros(16000, np.float32)]
        pos += 32000
    audio = np.concatenate(parts)
    wav = tmp_path / "real.wav"
    write_wav(wav, audio + 0.003 * coloured_noise("pink", audio.size, rng))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["tinykit", "stream", "--model", str(work / "out/lab/int8/model.tflite"),
                           "-o", str(tmp_path / "stream"), "--json", str(wav)], env=env, capture_output=True,
                          text=True, timeout=STEP_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    match = match_detections(truth, res["detections"], 16000)
    assert match["found"] == 2 and match["false_alarms"] == [], res["detections"]


@pytest.mark.slow
def test_the_labs_report_renders_whole(handout_run) -> None:
    from lab_helpers import chromium, full_page_screenshot, png_is_not_blank, png_size

    if chromium() is None:
        pytest.skip("chromium is not installed (Debian package `chromium`)")
    work, _ = handout_run
    png = work / "report.png"
    proc = full_page_screenshot(work / "out" / "lab" / "report.html", png, work / "profile")
    assert proc.returncode == 0 and png_is_not_blank(png), proc.stderr[-2000:]
    assert png_size(png)[0] == 1280 and png_size(png)[1] > 3000
