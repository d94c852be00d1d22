"""A real audio stack for recording tests: a private PulseAudio server with a null sink as 'microphone'.

The test plays a WAV into the null sink (paplay, looped); the sink's monitor is the default source,
so PortAudio -> ALSA -> the pulse plugin -> PulseAudio records exactly what was played, in real time.
The server gets its own runtime folder and socket, and is stopped (by its pid) when the test ends.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

START_TIMEOUT_S = 15
SINK = "tk_mic"


def have_audio_stack() -> bool:
    return all(shutil.which(t) for t in ("pulseaudio", "paplay", "pactl"))


@contextlib.contextmanager
def pulse_server(tmp: Path) -> Iterator[dict[str, str]]:
    """Start PulseAudio (null sink at 16 kHz mono, its monitor the default source); yields client env."""
    tmp.mkdir(parents=True, exist_ok=True)
    sock = tmp / "native"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp), "HOME": str(tmp), "PULSE_SERVER": f"unix:{sock}"}
    cmd = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disable-shm=yes", "--use-pid-file=no",
           "--system=no", "--log-target=stderr", "--log-level=error",
           "-L", f"module-native-protocol-unix socket={sock} auth-anonymous=1",
           "-L", f"module-null-sink sink_name={SINK} rate=16000 channels=1",
           "-L", "module-default-device-restore"]
    log = open(tmp / "pulse.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pulseaudio did not start: {(tmp / 'pulse.log').read_text()[-2000:]}")
            time.sleep(0.1)
        subprocess.run(["pactl", "set-default-source", f"{SINK}.monitor"], env=env, check=True)
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def playing(wav: Path, env: dict[str, str]) -> Iterator[None]:
    """Play ``wav`` into the null sink over and over until the block ends."""
    loop = f"while true; do paplay --device={SINK} '{wav}' || exit 1; done"
    proc = subprocess.Popen(["sh", "-c", loop], env=env, start_new_session=True)
    try:
        yield
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=10)
