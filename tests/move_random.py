"""Seeded random one-op models for the data-movement ops (tests/test_ops_move.py).

Each builder draws a shape, an element type and the op's options, works out the output shape the
way TensorFlow defines the op (numpy slicing, np.pad, np.transpose, ...: independent of tinykit's
own index code) and returns the .tflite bytes. The tflite-micro runtime then both judges that shape
(its Prepare refuses a wrong one) and computes the reference output.
"""

from __future__ import annotations

import numpy as np
from move_models import options, single_op
from move_models import tensor_spec as spec

INT16_Q = (0.0007, 0)  # int16 activations: zero point 0 (TFLM's CONCATENATION requires it)
INT8_Q = (0.05, 3)


def _quant(dtype: str):
    return INT16_Q if dtype == "int16" else INT8_Q


def _shape(rng, low: int, high: int, max_dim: int = 6) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, max_dim + 1, int(rng.integers(low, high + 1))))


def _io(shape, dtype, data=None):
    return spec(shape, dtype, data, _quant(dtype))


def _const(values) -> dict:
    return spec(np.shape(values), "int32", np.asarray(values, np.int32))


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def strided_slice(rng, dtype):
    while True:
        shape = _shape(rng, 1, 4)
        begin, end, strides, masks, index = [], [], [], [0, 0, 0], []
        for axis, d in enumerate(shape):
            bit = 1 << axis
            b, e = int(rng.integers(-d - 2, d + 3)), int(rng.integers(-d - 2, d + 3))
            s = _pick(rng, (-3, -2, -1, 1, 1, 2, 3))
            if rng.random() < 0.2:  # shrink: a single index, stride 1
                b, s = int(rng.integers(-d, d)), 1
                masks[2] |= bit
                index.append(b)
            else:
                mb, me = rng.random() < 0.25, rng.random() < 0.25
                masks[0] |= bit * mb
                masks[1] |= bit * me
                index.append(slice(None if mb else b, None if me else e, s))
            begin.append(b)
            end.append(e)
            strides.append(s)
        out = np.arange(int(np.prod(shape))).reshape(shape)[tuple(index)]
        if out.size:
            break
    opts = options("StridedSliceOptions", beginMask=masks[0], endMask=masks[1], shrinkAxisMask=masks[2])
    return single_op("STRIDED_SLICE", [_io(shape, dtype), _const(begin), _const(end), _const(strides)],
                     [_io(out.shape, dtype)], opts, "StridedSliceOptions")


def slice_(rng, dtype):
    shape = _shape(rng, 1, 5)
    begin = [int(rng.integers(0, d)) for d in shape]
    size = [int(rng.integers(1, d - b + 1)) if rng.random() < 0.8 else -1 for d, b in zip(shape, begin, strict=True)]
    out = [d - b if s == -1 else s for d, b, s in zip(shape, begin, size, strict=True)]
    return single_op("SLICE", [_io(shape, dtype), _const(begin), _const(size)], [_io(out, dtype)],
                     options("SliceOptions"), "SliceOptions")


def transpose(rng, dtype):
    shape = _shape(rng, 1, 5)
    perm = rng.permutation(len(shape))
    return single_op("TRANSPOSE", [_io(shape, dtype), _const(perm)], [_io([shape[p] for p in perm], dtype)],
                     options("TransposeOptions"), "TransposeOptions")


def pad(rng, dtype, v2: bool = False):
    shape = _shape(rng, 1, 5)
    pads = rng.integers(0, 4, (len(shape), 2))
    out = [d + a + b for d, (a, b) in zip(shape, pads, strict=True)]
    ins = [_io(shape, dtype), _const(pads)]
    if v2:
        info = np.iinfo(dtype)
        ins.append(spec((), dtype, np.array(rng.integers(info.min, info.max + 1)), _quant(dtype)))
    name = "PADV2" if v2 else "PAD"
    table = "PadV2Options" if v2 else "PadOptions"
    return single_op(name, ins, [_io(out, dtype)], options(table), table)


def mirror_pad(rng, dtype):
    shape = _shape(rng, 1, 4)
    mode = int(rng.integers(0, 2))  # 0 REFLECT, 1 SYMMETRIC
    pads = [[int(rng.integers(0, d - (1 - mode) + 1)) for _ in range(2)] for d in shape]
    out = [d + a + b for d, (a, b) in zip(shape, pads, strict=True)]
    return single_op("MIRROR_PAD", [_io(shape, dtype), _const(pads)], [_io(out, dtype)],
                     options("MirrorPadOptions", mode=mode), "MirrorPadOptions")


def reverse(rng, dtype):
    shape = _shape(rng, 1, 6, 4)
    lo = int(rng.integers(0, len(shape)))
    hi = int(rng.integers(lo, len(shape)))
    axes = [a - len(shape) if rng.random() < 0.3 else a for a in range(lo, hi + 1)]
    return single_op("REVERSE_V2", [_io(shape, dtype), _const(axes)], [_io(shape, dtype)],
                     options("ReverseV2Options"), "ReverseV2Options")


def broadcast_to(rng, dtype):
    target = _shape(rng, 1, 5, 4)
    rank = int(rng.integers(1, len(target) + 1))
    shape = [d if rng.random() < 0.5 else 1 for d in target[len(target) - rank:]]
    return single_op("BROADCAST_TO", [_io(shape, dtype), _const(target)], [_io(target, dtype)],
                     options("BroadcastToOptions"), "BroadcastToOptions")


def split(rng, dtype):
    shape = list(_shape(rng, 1, 4))
    axis = int(rng.integers(0, len(shape)))
    n = int(rng.integers(1, 4))
    shape[axis] = n * int(rng.integers(1, 3))
    out = [*shape[:axis], shape[axis] // n, *shape[axis + 1:]]
    axis_value = axis - len(shape) if rng.random() < 0.3 else axis
    return single_op("SPLIT", [spec((), "int32", np.array(axis_value, np.int32)), _io(shape, dtype)],
                     [_io(out, dtype) for _ in range(n)], options("SplitOptions", numSplits=n), "SplitOptions")


def split_v(rng, dtype):
    shape = list(_shape(rng, 1, 4))
    axis = int(rng.integers(0, len(shape)))
    sizes = [int(s) for s in rng.integers(1, 4, int(rng.integers(1, 4)))]
    shape[axis] = sum(sizes)
    given = list(sizes)
    if rng.random() < 0.5:
        given[int(rng.integers(len(given)))] = -1
    outs = [_io([*shape[:axis], s, *shape[axis + 1:]], dtype) for s in sizes]
    return single_op("SPLIT_V", [_io(shape, dtype), _const(given), spec((), "int32", np.array(axis, np.int32))],
                     outs, options("SplitVOptions", numSplits=len(sizes)), "SplitVOptions")


def unpack(rng, dtype):
    shape = list(_shape(rng, 1, 4, 4))
    axis = int(rng.integers(0, len(shape)))
    out = shape[:axis] + shape[axis + 1:]
    return single_op("UNPACK", [_io(shape, dtype)], [_io(out, dtype) for _ in range(shape[axis])],
                     options("UnpackOptions", num=shape[axis], axis=axis), "UnpackOptions")


def pack(rng, dtype):
    shape = list(_shape(rng, 0, 3, 4))
    n = int(rng.integers(1, 4))
    axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    pos = axis + len(shape) + 1 if axis < 0 else axis
    out = [*shape[:pos], n, *shape[pos:]]
    return single_op("PACK", [_io(shape, dtype) for _ in range(n)], [_io(out, dtype)],
                     options("PackOptions", valuesCount=n, axis=axis), "PackOptions")


def concat(rng, dtype):
    shape = list(_shape(rng, 1, 4))
    axis = int(rng.integers(0, len(shape)))
    ins = []
    for _ in range(int(rng.integers(1, 5))):
        s = list(shape)
        s[axis] = int(rng.integers(1, 4))
        ins.append(s)
    out = list(shape)
    out[axis] = sum(s[axis] for s in ins)
    axis_value = axis - len(shape) if rng.random() < 0.3 else axis
    return single_op("CONCATENATION", [_io(s, dtype) for s in ins], [_io(out, dtype)],
                     options("ConcatenationOptions", axis=axis_value), "ConcatenationOptions")


def space_to_depth(rng, dtype, inverse: bool = False):
    b = int(rng.integers(1, 4))
    n, h, w, c = int(rng.integers(1, 3)), int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    small, big = (n, h, w, c * b * b), (n, h * b, w * b, c)
    name, table = ("DEPTH_TO_SPACE", "DepthToSpaceOptions") if inverse else ("SPACE_TO_DEPTH", "SpaceToDepthOptions")
    src, dst = (small, big) if inverse else (big, small)
    return single_op(name, [_io(src, dtype)], [_io(dst, dtype)], options(table, blockSize=b), table)


def reshape(rng, dtype, kind: str = "reshape"):
    """RESHAPE, EXPAND_DIMS or SQUEEZE (all aliases of their input)."""
    shape = list(_shape(rng, 1, 4, 4))
    if kind == "expand":
        axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
        pos = axis + len(shape) + 1 if axis < 0 else axis
        return single_op("EXPAND_DIMS", [_io(shape, dtype), _const([axis])],
                         [_io([*shape[:pos], 1, *shape[pos:]], dtype)], options("ExpandDimsOptions"),
                         "ExpandDimsOptions")
    if kind == "squeeze":
        axis = int(rng.integers(0, len(shape) + 1))
        shape.insert(axis, 1)
        dims = [axis] if rng.random() < 0.7 else []
        out = [d for i, d in enumerate(shape) if i != axis and (dims or d != 1)]
        return single_op("SQUEEZE", [_io(shape, dtype)], [_io(out, dtype)],
                         options("SqueezeOptions", squeezeDims=dims), "SqueezeOptions")
    out = list(rng.permutation(shape))
    return single_op("RESHAPE", [_io(shape, dtype), _const(out)], [_io(out, dtype)],
                     options("ReshapeOptions", newShape=out), "ReshapeOptions")


def _index_input(values, runtime: bool) -> dict:
    """Indices as a constant, or as a model input (the test then feeds ``values``)."""
    return spec(np.shape(values), "int32", None if runtime else np.asarray(values, np.int32))


def gather(rng, dtype, runtime: bool = False):
    shape = _shape(rng, 1, 4, 4)
    axis = int(rng.integers(0, len(shape)))
    batch_dims = int(rng.integers(0, axis + 1)) if axis else 0
    coords_shape = list(shape[:batch_dims]) + list(_shape(rng, 0, 2, 3))
    coords = rng.integers(0, shape[axis], coords_shape)
    out = list(shape[:axis]) + coords_shape[batch_dims:] + list(shape[axis + 1:])
    opts = options("GatherOptions", axis=axis - len(shape) if rng.random() < 0.3 else axis, batchDims=batch_dims)
    return single_op("GATHER", [_io(shape, dtype), _index_input(coords, runtime)], [_io(out, dtype)],
                     opts, "GatherOptions"), coords


def gather_nd(rng, dtype, runtime: bool = False):
    shape = _shape(rng, 1, 4, 4)
    nd = int(rng.integers(1, len(shape) + 1))
    lead = list(_shape(rng, 0, 2, 3))
    indices = np.stack([rng.integers(0, d, lead) for d in shape[:nd]], axis=-1)
    out = lead + list(shape[nd:])
    return single_op("GATHER_ND", [_io(shape, dtype), _index_input(indices, runtime)], [_io(out, dtype)],
                     options("GatherNdOptions"), "GatherNdOptions"), indices


def embedding_lookup(rng, dtype, runtime: bool = False):
    table = _shape(rng, 2, 3, 5)
    ids = rng.integers(0, table[0], int(rng.integers(1, 5)))
    return single_op("EMBEDDING_LOOKUP", [_index_input(ids, runtime), _io(table, dtype)],
                     [_io((len(ids), *table[1:]), dtype)]), ids


def dynamic_update_slice(rng, dtype, runtime: bool = False):
    shape = _shape(rng, 1, 4, 5)
    update = [int(rng.integers(1, d + 1)) for d in shape]
    starts = [int(rng.integers(-2, d + 2)) for d in shape]  # out of range ones are clamped
    wide = rng.random() < 0.3 and not runtime
    index = spec((len(shape),), "int64" if wide else "int32",
                 None if runtime else np.array(starts, np.int64 if wide else np.int32))
    return single_op("DYNAMIC_UPDATE_SLICE", [_io(shape, dtype), _io(update, dtype), index], [_io(shape, dtype)],
                     options("DynamicUpdateSliceOptions"), "DynamicUpdateSliceOptions"), np.array(starts)


def _resize_flags(rng) -> tuple[bool, bool]:
    return _pick(rng, ((False, False), (True, False), (False, True)))


def resize(rng, dtype, bilinear: bool = False):
    n, h, w, c = int(rng.integers(1, 3)), int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 4))
    size = [int(rng.integers(1, 11)), int(rng.integers(1, 11))]
    align, half = _resize_flags(rng)
    name, table = (("RESIZE_BILINEAR", "ResizeBilinearOptions") if bilinear else
                   ("RESIZE_NEAREST_NEIGHBOR", "ResizeNearestNeighborOptions"))
    return single_op(name, [_io((n, h, w, c), dtype), _const(size)], [_io((n, *size, c), dtype)],
                     options(table, alignCorners=align, halfPixelCenters=half), table)


def space_batch(rng, dtype, inverse: bool = False):
    rank = int(rng.integers(3, 5))
    blocks = [int(b) for b in rng.integers(1, 4, rank - 2)]
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    spatial = [int(rng.integers(1, 4)) * b for b in blocks]  # the padded/uncropped extents
    margins = []
    for s in spatial:  # pads (crops) leave at least one row of the input (output)
        before = int(rng.integers(0, min(s, 3)))
        margins.append([before, int(rng.integers(0, min(s - before, 3)))])
    inner = [s - a - b for s, (a, b) in zip(spatial, margins, strict=True)]
    batched = [n * int(np.prod(blocks))] + [s // b for s, b in zip(spatial, blocks, strict=True)] + [c]
    plain = [n, *inner, c]
    name, table = (("BATCH_TO_SPACE_ND", "BatchToSpaceNDOptions") if inverse else
                   ("SPACE_TO_BATCH_ND", "SpaceToBatchNDOptions"))
    src, dst = (batched, plain) if inverse else (plain, batched)
    return single_op(name, [_io(src, dtype), _const(blocks), _const(margins)], [_io(dst, dtype)],
                     options(table), table)


# kind -> (builder, opcode, element types TFLM runs it on); the seed picks the type in turn
KINDS = {
    "strided_slice": (strided_slice, "STRIDED_SLICE", ("int8", "int16", "int32")),
    "slice": (slice_, "SLICE", ("int8", "int16", "int32")),
    "transpose": (transpose, "TRANSPOSE", ("int8", "int16")),
    "pad": (pad, "PAD", ("int8", "int16", "int32")),
    "padv2": (lambda rng, t: pad(rng, t, v2=True), "PADV2", ("int8", "int16", "int32")),
    "mirror_pad": (mirror_pad, "MIRROR_PAD", ("int8",)),
    "reverse": (reverse, "REVERSE_V2", ("int8", "int16", "int32")),
    "broadcast_to": (broadcast_to, "BROADCAST_TO", ("int8", "int16", "int32")),
    "split": (split, "SPLIT", ("int8", "int16", "int32")),
    "split_v": (split_v, "SPLIT_V", ("int8", "int16", "int32")),
    "unpack": (unpack, "UNPACK", ("int8", "int16", "int32")),
    "pack": (pack, "PACK", ("int8", "int16", "int32")),
    "concat": (concat, "CONCATENATION", ("int8", "int16", "int32")),
    "space_to_depth": (space_to_depth, "SPACE_TO_DEPTH", ("int8",)),
    "reshape": (reshape, "RESHAPE", ("int8", "int16", "int32")),
    "expand_dims": (lambda rng, t: reshape(rng, t, "expand"), "EXPAND_DIMS", ("int8", "int16")),
    "squeeze": (lambda rng, t: reshape(rng, t, "squeeze"), "SQUEEZE", ("int8", "int16", "int32")),
    "gather": (lambda rng, t: gather(rng, t)[0], "GATHER", ("int8",)),
    "gather_nd": (lambda rng, t: gather_nd(rng, t)[0], "GATHER_ND", ("int8",)),
    "embedding_lookup": (lambda rng, t: embedding_lookup(rng, t)[0], "EMBEDDING_LOOKUP", ("int8",)),
    "dynamic_update_slice": (lambda rng, t: dynamic_update_slice(rng, t)[0], "DYNAMIC_UPDATE_SLICE",
                             ("int8", "int16", "int32")),
    "resize_nearest": (resize, "RESIZE_NEAREST_NEIGHBOR", ("int8", "int16")),
    "resize_bilinear": (lambda rng, t: resize(rng, t, bilinear=True), "RESIZE_BILINEAR", ("int8",)),
    "space_to_batch": (space_batch, "SPACE_TO_BATCH_ND", ("int8",)),
    "batch_to_space": (lambda rng, t: space_batch(rng, t, inverse=True), "BATCH_TO_SPACE_ND", ("int8",)),
    "depth_to_space": (lambda rng, t: space_to_depth(rng, t, inverse=True), "DEPTH_TO_SPACE", ("int8",)),
}

SEEDS = range(3)  # the non-slow seeds

def build(kind: str, seed: int) -> bytes:
    fn, _, types = KINDS[kind]
    rng = np.random.default_rng(seed * 7919 + sum(map(ord, kind)))
    return fn(rng, types[seed % len(types)])
