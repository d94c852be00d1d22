"""Weights pre-arranged at generation time for the DSP (SMLAD) kernels, and the proofs they rest on.

On cores with the DSP extension the conv kernel reads one int32 *stream* per layer instead of int8
weights plus separate bias / multiplier / shift arrays: per pair of output channels the biases,
then the weights already widened to int16 pairs in the order the MAC loop multiplies them, then
each channel's requantization constants. Widening in flash removes the SXTB16s from the MAC loop
(11 instructions per 16 multiply-accumulates instead of 15) at the cost of twice the weight bytes
on those cores; builds without DSP keep the int8 arrays (a preprocessor switch in the kernel
headers picks one, and the linker drops the other).

The requantization in the stream is ``tk_requant_mm`` (tk_fixedpoint.h): weights and biases are
stored doubled, so the accumulator is 2 * acc, and TFLite's MultiplyByQuantizedMultiplier plus the
output offset is one SMMLAR and a shift: with s = floor((2 acc m + 2^31) / 2^32),
``result = (s + H - [acc < 0]) >> r``, ``H = 2^(r-1) + offset * 2^r``. :func:`mm_requant` proves,
per channel and for every int8 input, that this equals TFLite's value (see its docstring).
Channels whose output is the same for every input (all-zero weights with huge biases occur in
real models) are folded to that constant first, so they never block the proof.
"""

from __future__ import annotations

import numpy as np

from tinykit.codegen.ops_fixedpoint import mbqm

INT32_LIMIT = 1 << 31
#: int32 words of the stream per channel pair besides the weights: 4 biases + 2 x {m, H, r}
PAIR_HEAD_WORDS = 4
PAIR_RQ_WORDS = 6


def tflite_requant(acc: int, multiplier: int, shift: int, offset: int, lo: int, hi: int) -> int:
    """TFLite's int8 output for accumulator ``acc``: MultiplyByQuantizedMultiplier, offset, clamp."""
    return max(lo, min(hi, mbqm(acc, multiplier, shift) + offset))


def constant_output(bias: int, abs_weight_sum: int, multiplier: int, shift: int, offset: int, lo: int,
                    hi: int) -> int | None:
    """The channel's output when it is the same for every int8 input, else None.

    The accumulator lies in [bias - 128 S, bias + 128 S] (S = sum |w|); for a non-negative
    multiplier and a right shift TFLite's requantization is non-decreasing in the accumulator, so
    equal outputs at both ends mean one output everywhere."""
    if multiplier < 0 or shift > 0:
        return None
    a_lo, a_hi = bias - 128 * abs_weight_sum, bias + 128 * abs_weight_sum
    if a_lo < -INT32_LIMIT or a_hi >= INT32_LIMIT:
        return None
    first = tflite_requant(a_lo, multiplier, shift, offset, lo, hi)
    return first if first == tflite_requant(a_hi, multiplier, shift, offset, lo, hi) else None


def mm_requant(bound: int, multiplier: int, shift: int, offset: int) -> tuple[int, int] | None:
    """``(H, r)`` for tk_requant_mm on the doubled accumulator, or None when not proved exact.

    TFLite computes RoundingDivideByPOT(SRDHM(acc, m), r) + offset; as one floor (see
    tk_requant_hi in tk_fixedpoint.h) that is floor(X / 2^(31+r)) with
    X = acc m + 2^30 + (2^(r-1) - [acc < 0]) 2^31 + offset 2^(31+r). Doubling numerator and
    denominator, floor(2X / 2^(32+r)) = floor((floor((2acc m + 2^31) / 2^32) + H - [acc < 0]) / 2^r),
    which SMMLAR (with H - [acc < 0] as its accumulate operand) and an arithmetic shift compute
    exactly when: m >= 0, r >= 1, |2 acc| < 2^31 for every input (|acc| <= ``bound``), and H - 1,
    H and the SMMLAR result fit int32."""
    r = -int(shift)
    if multiplier < 0 or r < 1 or r > 31 or 2 * bound >= INT32_LIMIT:
        return None
    h = (1 << (r - 1)) + int(offset) * (1 << r)
    high = (2 * bound * int(multiplier) + INT32_LIMIT) // (1 << 32) + 1
    if abs(h) + high + 1 >= INT32_LIMIT:
        return None
    return h, r


def pack16(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """int32 words holding two int16 halves (``lo`` in bits 0-15), as SMLAD reads them."""
    return ((lo.astype(np.int64) & 0xFFFF) | (hi.astype(np.int64) << 16)).astype(np.int32)


def channel_rq(bias: np.ndarray, w2d: np.ndarray, mults: list[int], shifts: list[int], offset: int, lo: int,
               hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per channel (rows of ``w2d``): the bias and weights to store (constant channels folded to
    zero weights) and the {m, H, r} requantization words, or None for the whole layer when some
    channel is not proved (the kernel then requantizes raw accumulators in C, undoubled)."""
    original = bias.astype(np.int64), w2d.astype(np.int64)
    bias, w2d = original[0].copy(), original[1].copy()
    sums = np.abs(w2d).sum(axis=1)
    words = []
    for c in range(len(bias)):
        const = constant_output(int(bias[c]), int(sums[c]), int(mults[c]), int(shifts[c]), offset, lo, hi)
        if const is not None:  # acc = 0; floor((2 const - 0) / 2) = const
            bias[c], w2d[c], sums[c] = 0, 0, 0
            words.append((0, 2 * const, 1))
            continue
        proof = mm_requant(int(abs(bias[c]) + 128 * sums[c]), int(mults[c]), int(shifts[c]), offset)
        if proof is None:
            return *original, None
        words.append((int(mults[c]), *proof))
    return bias, w2d, np.asarray(words, np.int64).reshape(-1, 3)


def conv_stream(weights: np.ndarray, bias: np.ndarray, mults: list[int], shifts: list[int], offset: int, lo: int,
                hi: int) -> tuple[np.ndarray, bool]:
    """The CONV_2D DSP stream (tk_conv2d.c) and whether it carries the requantization.

    Per pair of output channels (an odd last one paired with a zero channel): the four
    accumulator seeds {b0, b0, b1, b1}, then per group of 4 values of K (padded with zeros)
    {(w0, w2), (w1, w3)} of channel 0 then of channel 1 as int16 pairs, then {m, H, r} of both
    channels. With the requantization, biases and weights are doubled (see the module docstring);
    without it (some channel not proved) they are stored as they are and the words are absent."""
    out_c = weights.shape[0]
    w2d = weights.reshape(out_c, -1)
    bias, w2d, rq = channel_rq(bias, w2d, mults, shifts, offset, lo, hi)
    scale = 1 if rq is None else 2
    pairs, kp = (out_c + 1) // 2, (w2d.shape[1] + 3) // 4 * 4
    w = np.zeros((2 * pairs, kp), np.int64)
    w[:out_c, :w2d.shape[1]] = w2d * scale
    b = np.zeros(2 * pairs, np.int64)
    b[:out_c] = bias * scale
    q = np.zeros((2 * pairs, 3), np.int64)
    q[:, 2] = 1
    if rq is not None:
        q[:out_c] = rq
    g = w.reshape(pairs, 2, kp // 4, 4)
    words = np.stack([pack16(g[..., 0], g[..., 2]), pack16(g[..., 1], g[..., 3])], axis=-1)  # pair, ch, grp, 2
    body = words.transpose(0, 2, 1, 3).reshape(pairs, -1)
    head = np.repeat(b.reshape(pairs, 2), 2, axis=1)
    parts = [head, body] + ([q.reshape(pairs, 6)] if rq is not None else [])
    return np.concatenate(parts, axis=1).astype(np.int32).reshape(-1), rq is not None


def depthwise_stream(weights: np.ndarray, bias: np.ndarray, mults: list[int], shifts: list[int], offset: int,
                     lo: int, hi: int, vertical: bool) -> tuple[np.ndarray, bool]:
    """The 3x3 DEPTHWISE_CONV_2D DSP stream (tk_depthwise_conv2d.c) and whether it carries the
    requantization: per channel {b, m, H, r}, then for each of the three input lines of an output
    line the int16 pairs A = (w0, w1) and D = (w1, w2) of the taps along it. Lines run along the
    width (taps w[fy][0..2] of filter row fy) or, ``vertical``, along the height (taps
    w[0..2][fx] of filter column fx). Biases and weights are doubled with the requantization (as
    in conv_stream); without it m, H, r are 0 and the kernel requantizes from the arrays."""
    taps = weights.reshape(3, 3, -1).astype(np.int64)  # fy, fx, channel
    lines = taps.transpose(1, 0, 2) if vertical else taps  # line, tap, channel
    channels = lines.shape[2]
    bias, w2d, rq = channel_rq(bias, lines.reshape(9, channels).T, mults, shifts, offset, lo, hi)
    scale = 1 if rq is None else 2
    w = w2d.reshape(channels, 3, 3) * scale
    pairs = np.stack([pack16(w[:, :, 0], w[:, :, 1]), pack16(w[:, :, 1], w[:, :, 2])], axis=-1)
    head = np.zeros((channels, 4), np.int64)
    head[:, 0] = bias * scale
    if rq is not None:
        head[:, 1:] = rq
    return np.concatenate([head, pairs.reshape(channels, 6)], axis=1).astype(np.int32).reshape(-1), rq is not None
