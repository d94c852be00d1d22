"""TensorFlow's own output goes to <output>/tensorflow.log, also when TensorFlow is first imported inside."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from tinykit.tflog import tensorflow_log
with tensorflow_log(sys.argv[1]):
    import tensorflow as tf  # first import inside: TF sets up its logger here
    tf.get_logger().warning("tf.function retracing (test)")
    print("tinykit line", file=sys.stderr)
"""


def test_tensorflow_imported_inside_logs_to_the_file(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    terminal = proc.stdout + proc.stderr
    assert "retracing" not in terminal and "oneDNN" not in terminal and "tinykit line" in proc.stderr
    assert "retracing (test)" in (tmp_path / "tensorflow.log").read_text()
