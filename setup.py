"""Build hook: ship the repository's templates/, firmware/ and boards/ inside the wheel.

They stay at the top of the repository (the project's layout); at build time they are copied into
the package as ``tinykit/_resources/``, where :mod:`tinykit.resources` finds them in an installed
wheel. An editable install reads them from the checkout instead, so nothing is copied there.
Everything else about the package is declared in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_DIRS = ("templates", "firmware", "boards")
SHIPPED_DIR = Path("tinykit") / "_resources"
IGNORED = shutil.ignore_patterns("*.o", "*.elf", "__pycache__", ".*")


class BuildPyWithResources(build_py):
    """build_py, then the data folders copied into the built package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for name in DATA_DIRS:
            target = Path(self.build_lib) / SHIPPED_DIR / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(name, target, ignore=IGNORED)


setup(cmdclass={"build_py": BuildPyWithResources})
