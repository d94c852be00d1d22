"""The cross compiler: where it is, its version, and one compile-and-link run of a project."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tinykit.errors import BuildError, ToolMissingError

GCC = "arm-none-eabi-gcc"
APT_TOOLCHAIN = "sudo apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi"
BUILD_TIMEOUT_S = 600


def require_tool(name: str, install: str) -> str:
    """Path of an external program, or ToolMissingError saying what to install."""
    path = shutil.which(name)
    if path is None:
        raise ToolMissingError(f"{name} not found on PATH", hint=f"install it: {install}")
    return path


def toolchain_version(gcc: str) -> str:
    out = subprocess.run([gcc, "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0].strip() if out else "unknown"


def compile_and_link(gcc: str, cflags: list[str], sources: list[str], ldflags: list[str], out_dir: Path,
                     elf_name: str) -> str:
    """Run the compiler in ``out_dir``; returns '' on success, else the compiler's messages."""
    cmd = [gcc, *cflags, *sources, *ldflags, "-o", elf_name]
    try:
        proc = subprocess.run(cmd, cwd=out_dir, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BuildError(f"compiling the firmware took more than {BUILD_TIMEOUT_S} s") from None
    return "" if proc.returncode == 0 else (proc.stderr or proc.stdout or "compiler failed")
