"""`tinykit run`: build -> flash -> measure, chained. No logic of its own beyond merging results."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from tinykit.measure import DEFAULT_NUM_INPUTS, DEFAULT_RUNS, MeasureRequest, Progress, measure

DEFAULT_BOARD = "qemu-m4"


def run(
    model_path: str | Path,
    board_id: str = DEFAULT_BOARD,
    out_dir: str | Path = "out/run",
    *,
    num_inputs: int = DEFAULT_NUM_INPUTS,
    runs: int = DEFAULT_RUNS,
    port: str | None = None,
    trace=None,
    progress: Progress | None = None,
    place: str | None = None,
    coordinator: str | None = None,
) -> dict[str, Any]:
    """Build firmware for ``model_path``, flash it on ``board_id`` and measure it there.

    ``port`` is the serial port of a real board (else the user's tinykit config names it); ``place``
    a labgrid place, held for the measurement (its board must already run this model's firmware).
    """
    from tinykit.firmware.build import build_firmware
    from tinykit.targets.boards import load_board

    board = load_board(board_id)
    model_path = Path(model_path)
    build = build_firmware(model_path, board, Path(out_dir) / "build")
    with _link(board, build.dir, port, place, coordinator) as (url, extra):
        req = MeasureRequest(url=url, board=board, model_path=model_path, num_inputs=num_inputs,
                             runs=runs, trace=trace, progress=progress)
        result = {**measure(req), **extra}
    size = build.size
    result.update(
        flash_bytes=size.flash_used, ram_bytes=size.ram_used, flash_total=size.flash_total,
        runtime_code_bytes=size.runtime_code, model_data_bytes=size.model_data,
        ram_total=size.ram_total, toolchain=build.toolchain, build_dir=str(build.dir),
    )
    return result


@contextlib.contextmanager
def _link(board, build_dir: Path, port: str | None, place: str | None, coordinator: str | None):
    """(url, extra results): the flashed board's link, or a labgrid place's serial port while it is held."""
    if place is not None:
        from tinykit.hil.farm import acquire_place

        with acquire_place(place, coordinator) as acquired:
            yield acquired.serial_url, acquired.to_dict()
        return
    from tinykit.flash import get_flasher

    with get_flasher(board).flash(build_dir, port=port) as link:
        yield link.url, {}
