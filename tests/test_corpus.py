"""The conformance corpus: real models from TFLite Micro's repository (tests/corpus/SOURCES.md).

Every model must run bit-exact against the tflite-micro runtime on the host. Models whose ops are
still being built are listed in PENDING (strict xfail: a pending model that starts passing fails
the suite until it is taken off the list).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tinykit.verify import verify_host

pytestmark = pytest.mark.host

CORPUS = Path(__file__).resolve().parent / "corpus"
MODELS = sorted(CORPUS.glob("*.tflite"))
INPUTS = 8

# File-name prefixes of models whose ops are not in tinykit yet (removed as each op lands).
PENDING: tuple[str, ...] = ()


def _params():
    for path in MODELS:
        marks = [pytest.mark.xfail(strict=True, reason="ops not built yet")] if path.name.startswith(PENDING) else []
        yield pytest.param(path, id=path.stem, marks=marks)


def test_corpus_is_complete() -> None:
    assert len(MODELS) == 121


@pytest.mark.parametrize("model", _params())
def test_corpus_model_bit_exact(model: Path) -> None:
    result = verify_host(model, n_inputs=INPUTS)
    assert result.mismatched_bytes == 0, f"{model.name}: {result.mismatched_bytes} bytes differ"
