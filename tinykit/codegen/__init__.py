"""C code generation: a .tflite model -> a self-contained, bit-exact C99 library.

Every ``ops_<family>.py`` module in this package registers its lowerings with
:func:`tinykit.codegen.lowering.lowering`; they are all imported here so that the registry is
complete before :func:`generate` runs.
"""

from __future__ import annotations

import importlib
import pkgutil

from tinykit.codegen import lowering as lowering

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _mod.startswith("ops_"):
        importlib.import_module(f"{__name__}.{_mod}")

from tinykit.codegen.generator import GeneratedLibrary, generate  # noqa: E402

__all__ = ["GeneratedLibrary", "generate"]
