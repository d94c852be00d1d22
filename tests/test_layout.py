"""The package layout: modules that moved into stage packages stay importable at their old paths."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tinykit._moved import MOVED

pytestmark = pytest.mark.host


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_import_path_warns_and_is_the_same_module(old):
    code = (f"import warnings, importlib\nwarnings.simplefilter('error')\n"
            f"try:\n    importlib.import_module({old!r})\nexcept DeprecationWarning as w:\n    print(w)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert f"{old} moved to {MOVED[old]}" in out
    with pytest.warns(DeprecationWarning):
        sys.modules.pop(old, None)
        module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])
