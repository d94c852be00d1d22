"""`tinykit bench`: every bundled reference model on one board, next to TFLite Micro's figures.

The TFLite Micro numbers are the ones measured with the same QEMU and compiler and published in
``shared/ANCHORS.md`` ("TFLite Micro on the emulated Cortex-M4"); they are data, copied here so
the table can be printed without the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinykit.models import all_reference_models
from tinykit.report import provenance, write_json_atomic
from tinykit.run import DEFAULT_BOARD, run

# Inputs per model: enough to validate bit-exactness, few enough for VWW/IC on an emulated core.
BENCH_INPUTS = 3

# ANCHORS.md, TFLite Micro on qemu mps2-an386: instructions/inference with reference and CMSIS-NN
# kernels, arena_used_bytes (reference kernels), firmware .text minus model bytes (reference kernels).
TFLM_QEMU_M4 = {
    "kws": {"macs": 2_656_768, "ref": 43_042_792, "cmsis": 7_697_408, "arena": 22_772, "text": 42_940},
    "ic": {"macs": 12_501_632, "ref": 107_402_184, "cmsis": 29_860_992, "arena": 54_340, "text": 47_368},
    "vww": {"macs": 7_489_664, "ref": 100_238_552, "cmsis": 24_101_984, "arena": 100_660, "text": 42_940},
    "ad": {"macs": 264_192, "ref": 1_952_432, "cmsis": 583_000, "arena": 2_260, "text": 22_620},
    "hello_world": {"macs": 288, "ref": 5_296, "cmsis": 3_552, "arena": 676, "text": 22_636},
}
# ANCHORS.md, TFLite Micro with CMSIS-NN's Helium (MVE) kernels on qemu mps3-an547 (Cortex-M55); the
# reference kernels, arena and code size were not measured there (ANCHORS.md: about the M4's).
TFLM_QEMU_M55 = {
    short: {"macs": TFLM_QEMU_M4[short]["macs"], "cmsis": cmsis}
    for short, cmsis in (("kws", 1_813_174), ("ic", 4_909_605), ("vww", 6_558_355), ("ad", 150_006))
}
# The anchors of each board measured with TFLite Micro; the others are compared with the M4's.
TFLM_BY_BOARD = {"qemu-m55": TFLM_QEMU_M55}


def bench_row(short: str, model: Path, result: dict[str, Any], board_id: str = DEFAULT_BOARD) -> dict[str, Any]:
    anchor = TFLM_BY_BOARD.get(board_id, TFLM_QEMU_M4).get(short, {})
    instr = result.get("instructions_per_inference") or result.get("cycles_per_inference")
    macs = result.get("macs") or anchor.get("macs")
    return {
        "model": short, "file": model.name, "macs": macs, "instructions_per_inference": instr,
        "instructions_per_mac": instr / macs if instr and macs else None,
        "tflm_ref_instructions": anchor.get("ref"), "tflm_cmsis_instructions": anchor.get("cmsis"),
        "flash_bytes": result.get("flash_bytes"), "ram_bytes": result.get("ram_bytes"),
        "runtime_code_bytes": result.get("runtime_code_bytes"),
        "model_data_bytes": result.get("model_data_bytes"),
        "tflm_ref_text_bytes": anchor.get("text"),
        "arena_bytes": result.get("arena_bytes"), "tflm_ref_arena_bytes": anchor.get("arena"),
        "mismatched_bytes": result.get("mismatched_bytes"), "inputs": result.get("inputs"),
        "max_abs_diff": (result.get("validation") or {}).get("max_abs_diff"),
    }


def bench(board_id: str = DEFAULT_BOARD, out_dir: str | Path = "out/bench",
          models: list[str] | None = None, num_inputs: int = BENCH_INPUTS, progress=None) -> list[dict[str, Any]]:
    """Run every bundled reference model (or ``models``) and return one row per model."""
    rows = []
    for short, path in all_reference_models().items():
        if models and short not in models:
            continue
        if progress:
            progress(short)
        result = run(path, board_id, Path(out_dir) / short, num_inputs=num_inputs)
        write_json_atomic(Path(out_dir) / short / "results.json",
                          {**provenance(toolchain=result.get("toolchain")), **result})
        rows.append(bench_row(short, path, result, board_id))
    return rows


def bench_boards(board_ids: list[str], out_dir: str | Path = "out/bench", models: list[str] | None = None,
                 num_inputs: int = BENCH_INPUTS, progress=None, jobs: int | None = None) -> list[dict[str, Any]]:
    """:func:`bench` on several boards at once, a worker per board (each runs its own QEMU or board);
    rows carry their board and come back in board order. One board keeps ``out_dir/MODEL`` as before."""
    import concurrent.futures as cf

    def one(board_id: str) -> list[dict[str, Any]]:
        where = Path(out_dir) / board_id if len(board_ids) > 1 else Path(out_dir)
        shown = (lambda model: progress(f"{model} on {board_id}")) if progress else None
        return [{"board": board_id, **row} for row in bench(board_id, where, models, num_inputs, shown)]

    with cf.ThreadPoolExecutor(max_workers=jobs or len(board_ids), thread_name_prefix="tinykit-bench") as pool:
        results = list(pool.map(one, board_ids))
    return [row for rows in results for row in rows]


def _n(v: float | int | None, fmt: str = "{:,}") -> str:
    return "–" if v is None else fmt.format(v)


def markdown(rows: list[dict[str, Any]], board_id: str = DEFAULT_BOARD) -> str:
    """The docs/BENCHMARKS.md table."""
    head = (f"| model | MACs | tinykit instr/inference (per MAC) | TFLM ref instr (per MAC) | "
            f"TFLM CMSIS-NN instr (per MAC) | flash B | RAM B | runtime code B (flash − model data) | "
            f"TFLM ref .text − model B | "
            f"arena B (tinykit / TFLM ref) | mismatched bytes |\n|{'---|' * 2}{'---:|' * 9}")
    lines = [f"Board `{board_id}`: instructions per inference on the emulated core (not cycles, not ms).", "", head]
    for r in rows:
        per = [(v / r["macs"] if v and r["macs"] else None) for v in
               (r["instructions_per_inference"], r["tflm_ref_instructions"], r["tflm_cmsis_instructions"])]
        cells = [f"{_n(v, '{:,.0f}')} ({_n(p, '{:.2f}')})" for v, p in
                 zip((r["instructions_per_inference"], r["tflm_ref_instructions"], r["tflm_cmsis_instructions"]),
                     per, strict=True)]
        lines.append(f"| {r['model']} | {_n(r['macs'])} | {' | '.join(cells)} | {_n(r['flash_bytes'])} | "
                     f"{_n(r['ram_bytes'])} | {_n(r['runtime_code_bytes'])} | {_n(r['tflm_ref_text_bytes'])} | "
                     f"{_n(r['arena_bytes'])} / {_n(r['tflm_ref_arena_bytes'])} | {_n(r['mismatched_bytes'])} |")
    return "\n".join(lines) + "\n"
