"""TensorFlow's own chatter goes to a log file in the output folder, not between tinykit's lines.

TensorFlow's C++ side writes straight to file descriptor 2 (oneDNN, the CUDA stub, the converter's
MLIR passes, absl's "before InitializeLog" banner) whatever ``TF_CPP_MIN_LOG_LEVEL`` says, and its
Python side logs retracing warnings through ``logging``. While a command runs inside
:func:`tensorflow_log`, descriptor 2 points at ``<output>/tensorflow.log``, TensorFlow's and
absl's Python loggers and Python warnings write there too, and ``sys.stderr`` (tinykit's own
messages, progress bars, errors) keeps writing to the terminal through a copy of the original
descriptor. Everything is restored on the way out, also after an error.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

LOG_NAME = "tensorflow.log"
LOGGERS = ("tensorflow", "absl", "py.warnings", "h5py")


def _writes_to_fd2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


@contextlib.contextmanager
def _loggers_to(handler: logging.Handler) -> Iterator[None]:
    saved = []
    # the root logger too: TensorFlow, imported inside the block, gives its logger a handler of its own
    # on sys.stderr (the terminal here) unless the root logger already has one
    root = logging.getLogger()
    saved.append((root, root.handlers[:], root.propagate))
    root.handlers = [handler]
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate))
        logger.handlers = [handler]
        logger.propagate = False
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        for logger, handlers, propagate in saved:
            logger.handlers, logger.propagate = handlers, propagate


@contextlib.contextmanager
def tensorflow_log(directory: str | os.PathLike) -> Iterator[Path]:
    """Send TensorFlow's output to ``directory/tensorflow.log`` for the duration of the block."""
    path = Path(directory) / LOG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    with open(path, "a", buffering=1) as log:
        saved_fd = os.dup(2)
        terminal = None
        if _writes_to_fd2(sys.stderr):
            terminal = sys.stderr
            sys.stderr = open(os.dup(saved_fd), "w", buffering=1, encoding=terminal.encoding,  # noqa: SIM115
                              errors="backslashreplace")
        os.dup2(log.fileno(), 2)
        try:
            with _loggers_to(logging.StreamHandler(log)):
                yield path
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            if terminal is not None:
                sys.stderr.close()
                sys.stderr = terminal


def logged(where: Callable[[dict], str | os.PathLike]) -> Callable:
    """Decorate a click command: its TensorFlow output goes to ``where(parameters)/tensorflow.log``."""

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def run(**params):
            with tensorflow_log(where(params)):
                return command(**params)

        return run

    return decorate
