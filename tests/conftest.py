"""Shared pytest set-up: test tiers and the options that enable real-hardware tests."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _private_cache(config: pytest.Config) -> None:
    """Tests get their own result cache (tinykit.cache), never the user's ~/.cache/tinykit."""
    if "TINYKIT_CACHE" not in os.environ:
        import shutil
        import tempfile

        path = tempfile.mkdtemp(prefix="tinykit-test-cache-")
        os.environ["TINYKIT_CACHE"] = path
        config.add_cleanup(lambda: shutil.rmtree(path, ignore_errors=True))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--board", default=None, help="real board id for `hw` tests (e.g. nucleo-l4r5zi)")
    parser.addoption("--port", default=None, help="serial port of the real board for `hw` tests")


def pytest_configure(config: pytest.Config) -> None:
    """--board must name a real board: the hw tier flashes it (emulated boards run in the qemu tier)."""
    _private_cache(config)
    board_id = config.getoption("--board", default=None)
    if not board_id:
        return
    from tinykit.errors import BoardError
    from tinykit.targets.boards import load_board

    try:
        board = load_board(board_id)
    except BoardError as err:
        raise pytest.UsageError(f"--board {board_id}: {err.message} ({err.hint})") from None
    if board.emulated:
        raise pytest.UsageError(f"--board {board_id} is emulated: the hw tier is for real boards "
                                "(the qemu tier already runs it)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--board") and config.getoption("--port"):
        return
    skip_hw = pytest.mark.skip(reason="real-hardware test: give --board and --port")
    for item in items:
        if "hw" in item.keywords:
            item.add_marker(skip_hw)


@pytest.fixture
def hw_board(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(board id, port) of the attached real board."""
    return request.config.getoption("--board"), request.config.getoption("--port")
