"""The shared helpers: atomic writes, template rendering, resource lookup."""

from __future__ import annotations

import os

import jinja2
import pytest

from tinykit import resources
from tinykit.files import atomic_path, write_atomic, write_json
from tinykit.render import render_template

pytestmark = pytest.mark.host


def test_atomic_write_replaces_whole_file_with_ordinary_permissions(tmp_path):
    path = tmp_path / "sub" / "a.txt"
    write_atomic(path, "one\n")
    write_atomic(path, b"two\n")
    assert path.read_text() == "two\n" and os.listdir(path.parent) == ["a.txt"]
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    write_json(tmp_path / "r.json", {"x": 1})
    assert (tmp_path / "r.json").read_text() == '{\n  "x": 1\n}\n'


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["results.json"]


def test_templates_are_strict_and_html_is_escaped():
    with pytest.raises(jinja2.UndefinedError):
        render_template("firmware", "tk_board.h.j2", ctx=object())
    env_html = render_template("report", "report.html.j2", ctx=_Page())
    assert "&lt;b&gt;" in env_html and "<b>" not in env_html


class _Page:
    banner = "b"
    title = "<b>"
    subtitle = ""
    headline = ()
    sections = ()


def test_resources_are_found_from_the_package():
    root = resources.data_root()
    for name in resources.DATA_DIRS:
        assert (root / name).is_dir()
    assert (resources.templates_dir("model") / "model.h.j2").is_file()
    assert (resources.firmware_dir("kernels") / "include" / "tk_types.h").is_file()
    assert (resources.models_dir() / "kws_ref_model.tflite").is_file()
    with pytest.raises(resources.ResourceError, match="missing"):
        resources.templates_dir("no-such-group")
