"""Weights pre-arranged at generation time for the Helium (MVE) kernels (``tk_<op>_mve.c``).

The vector kernels compute dot products with VMLADAVA (16 int8 multiply-accumulates into one
scalar) for blocks of four output channels (rows) at a time, then requantize the four sums as the
lanes of one vector. So they read a layer as one *stream*, per block of four rows:

* ``[K / 16][4 rows][16 values]`` int8 weights: the 64 bytes of a chunk are the four rows' next 16
  values. K is padded with zero weights to a multiple of 16 (the column values they meet then add
  nothing, whatever they are);
* three int32 vectors: the four rows' folded biases, multipliers and shifts (rows past the last
  one: 0, 0, -1).

One pointer walks the whole layer and every load is a full, 16-byte aligned vector (a block is a
multiple of 16 bytes). These streams are read only by builds for MVE cores: the generated params
name them in ``filter_data`` through ``TK_MVE_OR(stream, filter)`` and the other kernels' bias,
multipliers and shifts through ``TK_NO_MVE`` (tk_mve.h), so every build links only the constants
its kernels read, and the params structs of the other cores are unchanged.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tinykit.codegen.lowering import ConstArray

#: values per VMLADAVA chunk (TK_MVE_CHUNK in tk_mve.h)
CHUNK = 16
#: rows (output channels) per block (TK_MVE_BLOCK in tk_mve.h)
BLOCK = 4
#: the requantization vectors after each block's weights: bias, multiplier, shift
RQ_VECTORS = 3


def padded_depth(k: int) -> int:
    """K rounded up to whole chunks."""
    return -(-k // CHUNK) * CHUNK


def block_stream(weights: np.ndarray, bias: np.ndarray, mults: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """rows x K int8 weights (trailing dimensions flattened into K) and per-row (or one per-tensor)
    requantization constants as the stream described above, an int8 array."""
    rows = weights.shape[0]
    w2d = np.asarray(weights, np.int8).reshape(rows, -1)
    k, kp, blocks = w2d.shape[1], padded_depth(w2d.shape[1]), -(-rows // BLOCK)
    padded = np.zeros((blocks * BLOCK, kp), np.int8)
    padded[:rows, :k] = w2d
    layout = padded.reshape(blocks, BLOCK, kp // CHUNK, CHUNK).transpose(0, 2, 1, 3).reshape(blocks, -1)
    rq = np.zeros((RQ_VECTORS, blocks * BLOCK), np.int64)
    rq[2] = -1
    for i, values in enumerate((bias, mults, shifts)):
        rq[i, :rows] = np.broadcast_to(np.asarray(values, np.int64).reshape(-1), (rows,))
    rq_bytes = rq.reshape(RQ_VECTORS, blocks, BLOCK).transpose(1, 0, 2).astype("<i4").view(np.int8)
    return np.concatenate([layout, rq_bytes.reshape(blocks, -1)], axis=1).reshape(-1)


def depthwise_rows(weights: np.ndarray, dilation_w: int) -> np.ndarray:
    """1 x kh x kw x C depthwise weights as one row per output channel in the order of the Helium
    kernel's windows (tk_depthwise_conv2d_mve.c): [fx][fy], one run of kw * kh values when
    dilation_w is 1, else kw runs of kh values each padded with zeros to whole chunks."""
    _, kh, kw, channels = weights.shape
    runs = np.asarray(weights, np.int8)[0].transpose(2, 1, 0)  # channel, fx, fy
    if dilation_w == 1:
        return runs.reshape(channels, kw * kh)
    padded = np.zeros((channels, kw, padded_depth(kh)), np.int8)
    padded[:, :, :kh] = runs
    return padded.reshape(channels, -1)


def stream_arrays(symbol: str, stream: np.ndarray, comment: str, arrays: list[ConstArray],
                  fields: tuple[str, ...]) -> tuple[list[ConstArray], list[tuple[str, str]]]:
    """The stream as an MVE-only array, ``arrays`` (what the other kernels read instead, the
    params fields ``fields`` in order, the filter first) marked for the other builds, and the params
    fields: the first names the stream on MVE builds, the filter elsewhere; the rest are NULL on MVE."""
    others = [dataclasses.replace(a, variant="no_mve") for a in arrays]
    params = [(fields[0], f"TK_MVE_OR({symbol}, {others[0].c_name})")]
    params += [(f, f"TK_NO_MVE({a.c_name})") for f, a in zip(fields[1:], others[1:], strict=True)]
    return [*others, ConstArray(symbol, "int8_t", stream, comment, variant="mve")], params
