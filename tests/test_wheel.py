"""The wheel: `python -m build` packs templates/, firmware/ and boards/ into the package, and a fresh
virtualenv with only the wheel installed (no source tree on the path, run from another directory)
builds firmware, runs it on QEMU and generates C.

The fresh venv reuses the project venv's site-packages (a .pth line) for TensorFlow and the other
dependencies, so the test is offline and fast; tinykit itself comes only from the wheel.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tinykit.resources import DATA_DIRS, data_root

pytestmark = [pytest.mark.qemu]
REPO = data_root()  # in the test run: the checkout (an editable install)
TIMEOUT_S = 600


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    if not (REPO / "pyproject.toml").is_file():
        pytest.skip("not a source checkout")
    dist = tmp_path_factory.mktemp("dist")
    # sdist first, then the wheel from the sdist: MANIFEST.in must carry the data folders too
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)], cwd=dist)
    (whl,) = dist.glob("tinykit-*.whl")
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, dict]:
    venv = tmp_path_factory.mktemp("venv")
    # nothing of the checkout on the path, not even for pip (it would think tinykit is installed)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv, env=env)
    py = venv / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=venv, env=env)
    (Path(purelib.stdout.strip()) / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], cwd=venv, env=env)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return venv, env


def test_wheel_ships_the_data_folders(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for folder in DATA_DIRS:
        shipped = {n.split(f"tinykit/_resources/{folder}/", 1)[1] for n in names
                   if n.startswith(f"tinykit/_resources/{folder}/")}
        in_repo = {str(p.relative_to(REPO / folder)) for p in (REPO / folder).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts}
        assert shipped == in_repo, folder
    assert "tinykit/models/kws_ref_model.tflite" in names


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="qemu-system-arm and arm-none-eabi-gcc are needed")
def test_installed_wheel_runs_and_generates_outside_the_tree(installed, tmp_path):
    venv, env = installed
    where = _run([str(venv / "bin" / "python"), "-c",
                  "import tinykit, tinykit.resources as r; print(tinykit.__file__); print(r.data_root())"],
                 cwd=tmp_path, env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where  # nothing from the checkout
    tinykit = str(venv / "bin" / "tinykit")
    res = json.loads(_run([tinykit, "run", "kws", "--board", "qemu-m4", "-o", "out", "--count", "2", "--json"],
                          cwd=tmp_path, env=env).stdout)
    assert res["mismatched_bytes"] == 0 and res["inputs"] == 2 and res["board"] == "qemu-m4"
    assert Path(res["build_dir"]).is_relative_to(tmp_path)
    model = where[1].replace("_resources", "models/hello_world_int8.tflite")
    _run([tinykit, "generate", model, "-o", "gen"], cwd=tmp_path, env=env)
    assert {"model.h", "model.c", "model_weights.c", "manifest.json"} <= {p.name for p in (tmp_path / "gen").iterdir()}
