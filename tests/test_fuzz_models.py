"""Mutated model files: each one accepted (and its generated C compiles) or refused with one clean
error; never a traceback, a hang, a crash or a memory blow-up (the fuzzer is tests/fuzz_models.py).

A bigger campaign with a fresh seed, compiling every distinct accepted library::

    TINYKIT_FUZZ_SEED=$RANDOM TINYKIT_FUZZ_COUNT=12000 TINYKIT_FUZZ_COMPILE=all \\
        .venv/bin/python -m pytest tests/test_fuzz_models.py -k campaign
"""

from __future__ import annotations

import os
import random

import fuzz_models as fm
import pytest

pytestmark = pytest.mark.host

FIXED_SEED = 14_2024
SEED = int(os.environ.get("TINYKIT_FUZZ_SEED", FIXED_SEED))
COUNT = int(os.environ.get("TINYKIT_FUZZ_COUNT", 2000))
_COMPILE = os.environ.get("TINYKIT_FUZZ_COMPILE", "6")
COMPILE_BUDGET = None if _COMPILE == "all" else int(_COMPILE)


def _check(report: fm.Report) -> None:
    saved = f"failing mutants saved in {fm.REGRESSIONS}: commit them (a test replays them)"
    assert report.clean, f"{report.summary()}\n{saved}"


def test_campaign_fixed_seed() -> None:
    report = fm.campaign(SEED, COUNT, workers=2, compile_budget=COMPILE_BUDGET, save_dir=fm.REGRESSIONS)
    print(report.summary())
    _check(report)
    assert sum(report.kinds.values()) == COUNT
    assert report.kinds["accepted"] > COUNT // 20 and report.kinds["refused"] > COUNT // 2
    assert report.compiled >= min(report.structures, COMPILE_BUDGET or report.structures, 1)


def test_regressions_replay() -> None:
    """Every mutant that ever failed, rebuilt from its patch, is now accepted or cleanly refused."""
    regressions = fm.regression_mutants()
    assert len(regressions) >= 25
    report = fm.campaign(0, len(regressions), workers=2, compile_budget=None, jobs=iter(regressions))
    _check(report)


def test_structure_finds_every_kind_of_field() -> None:
    data = fm.base_path("hello_world_int8.tflite").read_bytes()
    fields = fm.structure(data)
    kinds = {f.kind for f in fields}
    assert {"soffset", "vtable_size", "vtable_entry", "uoffset", "vector_len", "string_len", "scalar",
            "element"} <= kinds
    lengths = [f for f in fields if f.kind == "vector_len"]
    # a vector length prefix holds the count of the elements that follow it
    assert all(0 <= int.from_bytes(data[f.offset:f.offset + 4], "little") < len(data) for f in lengths)


def test_mutants_are_deterministic_and_differ() -> None:
    first = [m.data for m in fm.mutants(7, 30)]
    assert first == [m.data for m in fm.mutants(7, 30)]
    assert first != [m.data for m in fm.mutants(8, 30)]
    bases = {fm.base_path(m.base).read_bytes() for m in fm.mutants(7, 30)}
    assert not set(first) & bases


@pytest.mark.parametrize("edit", ["flip", "truncate", "insert", "two_flips"])
def test_patch_round_trip(edit: str) -> None:
    base = fm.base_path("kws_ref_model.tflite").read_bytes()
    rng = random.Random(edit)
    mutant = bytearray(base)
    if edit == "flip":
        mutant[rng.randrange(len(base))] ^= 0x55
    elif edit == "truncate":
        del mutant[rng.randrange(len(base)):]
    elif edit == "insert":
        at = rng.randrange(len(base))
        mutant[at:at] = base[100:164]
    else:
        mutant[10] ^= 1
        mutant[len(base) - 10] ^= 1
    record = fm.encode_patch(base, bytes(mutant))
    assert fm.apply_patch(base, record) == bytes(mutant)
    assert len(str(record)) < 2000
