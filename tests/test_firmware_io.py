"""firmware/core/tk_io.c on the host: decimal printing, 64-bit division without libgcc, CRC-32."""

from __future__ import annotations

import random
import subprocess
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

HARNESS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tk_fw.h"
void tk_uart_putc(char c) { putchar(c); }
int main(int argc, char **argv) {
    if (argc < 3) { return 2; }
    if (strcmp(argv[1], "u64") == 0) { tk_put_u64(strtoull(argv[2], NULL, 10)); }
    if (strcmp(argv[1], "div") == 0) {
        uint32_t rem;
        uint64_t q = tk_udiv64_small(strtoull(argv[2], NULL, 10), (uint32_t)strtoul(argv[3], NULL, 10), &rem);
        printf("%llu %u", (unsigned long long)q, rem);
    }
    if (strcmp(argv[1], "crc") == 0) { printf("%08x", tk_crc32((const uint8_t *)argv[2], strlen(argv[2]))); }
    if (strcmp(argv[1], "eq") == 0) { printf("%d", tk_streq(argv[2], argv[3])); }
    if (strcmp(argv[1], "san") == 0) { tk_put_sanitized(argv[2]); }
    return 0;
}
"""


@pytest.fixture(scope="module")
def io_exe(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("io")
    (tmp / "tk_board.h").write_text("#define TK_BOARD_ID \"host\"\n")
    (tmp / "main.c").write_text(HARNESS)
    exe = tmp / "io"
    subprocess.run(["gcc", "-std=c99", "-D_DEFAULT_SOURCE", "-Wall", "-Wextra", "-Werror", f"-I{tmp}",
                    f"-I{REPO / 'firmware/include'}",
                    str(REPO / "firmware/core/tk_io.c"), str(tmp / "main.c"), "-o", str(exe)], check=True)
    return exe


def _run(exe: Path, *args: str) -> str:
    return subprocess.run([str(exe), *args], capture_output=True, text=True, check=True).stdout


def test_decimal_printing(io_exe: Path) -> None:
    for value in (0, 9, 10, 4_294_967_295, 4_294_967_296, 123_456_789_012_345, 2**64 - 1):
        assert _run(io_exe, "u64", str(value)) == str(value)


def test_small_divisor_division_matches_python(io_exe: Path) -> None:
    rng = random.Random(7)
    cases = [(2**64 - 1, 65535), (2**64 - 1, 1), (2**32, 10), (0, 25)]
    cases += [(rng.getrandbits(64), rng.randrange(1, 65536)) for _ in range(40)]
    for n, d in cases:
        assert _run(io_exe, "div", str(n), str(d)) == f"{n // d} {n % d}"


def test_crc32_is_zlibs_and_streq(io_exe: Path) -> None:
    for text in ("a", "hello world", "0123456789abcdef" * 4):
        assert _run(io_exe, "crc", text) == f"{zlib.crc32(text.encode()):08x}"
    assert _run(io_exe, "eq", "tk-info", "tk-info") == "1"
    assert _run(io_exe, "eq", "tk-info", "tk-inf") == "0" and _run(io_exe, "eq", "db", "dbx") == "0"


def test_sanitized_text_cannot_break_a_reply(io_exe: Path) -> None:
    """Echoed text keeps printable ASCII but never a bracket or a control byte (the grammar's
    payloads are [^]]* and a reply is one line)."""
    assert _run(io_exe, "san", "db load 12") == "db load 12"
    assert _run(io_exe, "san", "]]x[%\t\x01\x7f") == "??x?%???"
