"""Spatial resampling: RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND.

The index arithmetic is TFLite Micro's, evaluated here once per output row and column (it does it
per element at run time): nearest-neighbour in float32 exactly as ``GetNearestNeighbor``, bilinear
in TFLM's 10-bit fixed point (``ResizeBilinearInteger``, int8 only, as TFLM). SPACE_TO_BATCH_ND
fills padding with byte 0 whatever the zero point: TFLM's kernel memsets with ``output_offset``,
which its Prepare never sets (the field stays 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from tinykit.codegen.quant import tflite_round
from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops.base import OpHandler, input_tensor, output_tensor, register, unsupported
from tinykit.ir.ops.move import const_values, require_same_type, require_shape


def resize_size(op: Operator, graph: Graph) -> tuple[int, int]:
    size_t = input_tensor(graph, op, 1)
    if size_t is not None and len(size_t.shape) != 1:
        raise unsupported(op, f"size of shape {list(size_t.shape)} (TFLite Micro takes a vector of 2)")
    size = const_values(op, graph, 1, "size")
    if size.size != 2 or (size < 1).any():
        raise unsupported(op, f"size {size.tolist()} (two positive values)")
    return int(size[0]), int(size[1])


class _Resize(OpHandler):
    num_inputs = (2, 2)
    input_ranks = MappingProxyType({0: (4,)})

    def validate(self, op: Operator, graph: Graph) -> None:
        require_same_type(op, graph, self.activation_types)
        if op.options.get("align_corners") and op.options.get("half_pixel_centers"):
            raise unsupported(op, "align_corners together with half_pixel_centers")
        require_shape(op, output_tensor(graph, op), self.output_shapes(op, graph)[0])

    def output_shapes(self, op, graph):
        n, _, _, c = input_tensor(graph, op, 0).shape
        return [(n, *resize_size(op, graph), c)]


def nearest_indices(out_size: int, in_size: int, align_corners: bool, half_pixel: bool) -> list[int]:
    """TFLM's ``GetNearestNeighbor`` for every output index, in float32 like TFLM."""
    f32 = np.float32
    aligned = align_corners and out_size > 1
    scale = f32(in_size - 1) / f32(out_size - 1) if aligned else f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel else f32(0.0)
    result = []
    for x in range(out_size):
        v = (f32(x) + offset) * scale
        # TfLiteRound (half away from zero) with align_corners, else floor
        i = int(tflite_round(float(v))) if align_corners else int(np.floor(v))
        i = min(i, in_size - 1)
        result.append(max(0, i) if half_pixel else i)
    return result


@register
class ResizeNearestNeighbor(_Resize):
    opcode = "RESIZE_NEAREST_NEIGHBOR"
    options_table = "ResizeNearestNeighborOptions"
    activation_types = ("int8", "int16")

    def indices(self, op: Operator, graph: Graph) -> tuple[list[int], list[int]]:
        _, h, w, _ = input_tensor(graph, op, 0).shape
        oh, ow = resize_size(op, graph)
        ac, hp = bool(op.options.get("align_corners")), bool(op.options.get("half_pixel_centers"))
        return nearest_indices(oh, h, ac, hp), nearest_indices(ow, w, ac, hp)

    def fold(self, op, graph, inputs):
        ys, xs = self.indices(op, graph)
        return [np.asarray(inputs[0])[:, ys][:, :, xs].copy()]


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncation toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@dataclass(frozen=True)
class BilinearAxis:
    """Per output index along one axis: the two input indices and the 10-bit weight of the second."""

    lo: tuple[int, ...]
    hi: tuple[int, ...]
    frac: tuple[int, ...]


def bilinear_axis(out_size: int, in_size: int, align_corners: bool, half_pixel: bool) -> BilinearAxis:
    """TFLM's ``ComputeInterpolationValuesInteger`` with its 10-bit scale, for every output index."""
    scale = ((1 << 10) * in_size + out_size // 2) // out_size
    if align_corners and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    lo, hi, frac = [], [], []
    for v in range(out_size):
        scaled = v * scale + scale // 2 - (1 << 9) if half_pixel else v * scale
        low = max(_c_div(scaled, 1 << 10), 0)
        lo.append(low)
        hi.append(min(_c_div(scaled + (1 << 10) - 1, 1 << 10), in_size - 1))
        frac.append(scaled - (1 << 10) * low)
    return BilinearAxis(tuple(lo), tuple(hi), tuple(frac))


@register
class ResizeBilinear(_Resize):
    opcode = "RESIZE_BILINEAR"
    options_table = "ResizeBilinearOptions"
    activation_types = ("int8",)

    def axes(self, op: Operator, graph: Graph) -> tuple[BilinearAxis, BilinearAxis]:
        _, h, w, _ = input_tensor(graph, op, 0).shape
        oh, ow = resize_size(op, graph)
        ac, hp = bool(op.options.get("align_corners")), bool(op.options.get("half_pixel_centers"))
        ys, xs = bilinear_axis(oh, h, ac, hp), bilinear_axis(ow, w, ac, hp)
        if max(ys.lo) >= h or max(xs.lo) >= w:
            raise unsupported(op, "TFLite Micro would read past the input (rounded scale)")
        return ys, xs

    def validate(self, op: Operator, graph: Graph) -> None:
        super().validate(op, graph)
        self.axes(op, graph)

    def fold(self, op, graph, inputs):
        ys, xs = self.axes(op, graph)
        x = np.asarray(inputs[0]).astype(np.int64)
        fy = np.array(ys.frac)[None, :, None, None]
        fx = np.array(xs.frac)[None, None, :, None]
        lo_y, hi_y = x[:, list(ys.lo)], x[:, list(ys.hi)]
        total = (lo_y[:, :, list(xs.lo)] * (1024 - fy) * (1024 - fx) + hi_y[:, :, list(xs.lo)] * fy * (1024 - fx) +
                 lo_y[:, :, list(xs.hi)] * (1024 - fy) * fx + hi_y[:, :, list(xs.hi)] * fy * fx)
        rounded = np.where(total > 0, total + (1 << 19), total - (1 << 19))
        return [(np.sign(rounded) * (np.abs(rounded) >> 20)).astype(np.int8)]


class _BatchSpace(OpHandler):
    num_inputs = (3, 3)
    input_ranks = MappingProxyType({0: (3, 4)})
    activation_types = ("int8",)

    def geometry(self, op: Operator, graph: Graph) -> tuple[list[int], list[list[int]]]:
        """Block sizes and [before, after] pads/crops for H (and W), W's block 1 for 3-D tensors."""
        rank = len(input_tensor(graph, op, 0).shape)
        spatial = rank - 2
        block = const_values(op, graph, 1, "block shape")
        pads = const_values(op, graph, 2, "paddings/crops")
        if block.size != spatial or pads.size != 2 * spatial:
            raise unsupported(op, f"block shape {block.tolist()} and {pads.tolist()} for a rank {rank} input")
        if (block < 1).any() or (pads < 0).any():
            raise unsupported(op, f"block shape {block.tolist()} / paddings {pads.tolist()} out of range")
        blocks = [int(b) for b in block] + [1] * (2 - spatial)
        margins = [[int(a), int(b)] for a, b in pads.reshape(spatial, 2)] + [[0, 0]] * (2 - spatial)
        return blocks, margins

    def validate(self, op: Operator, graph: Graph) -> None:
        require_same_type(op, graph, self.activation_types)
        out = output_tensor(graph, op)
        if len(out.shape) != len(input_tensor(graph, op, 0).shape):
            raise unsupported(op, "input and output of different ranks")
        require_shape(op, out, self.output_shapes(op, graph)[0])

    @staticmethod
    def nhwc(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        return (shape[0], shape[1], shape[2], shape[3]) if len(shape) == 4 else (shape[0], shape[1], 1, shape[2])

    @staticmethod
    def unnhwc(shape: tuple[int, int, int, int], rank: int) -> tuple[int, ...]:
        return shape if rank == 4 else (shape[0], shape[1], shape[3])


@register
class SpaceToBatchNd(_BatchSpace):
    opcode = "SPACE_TO_BATCH_ND"
    options_table = "SpaceToBatchNDOptions"

    def output_shapes(self, op, graph):
        shape = input_tensor(graph, op, 0).shape
        n, h, w, c = self.nhwc(shape)
        (bh, bw), ((pt, pb), (pl, pr)) = self.geometry(op, graph)
        if (h + pt + pb) % bh or (w + pl + pr) % bw:
            raise unsupported(op, f"padded {h + pt + pb}x{w + pl + pr} is not a multiple of the block {bh}x{bw}")
        return [self.unnhwc((n * bh * bw, (h + pt + pb) // bh, (w + pl + pr) // bw, c), len(shape))]

    def fold(self, op, graph, inputs):
        shape = input_tensor(graph, op, 0).shape
        (bh, bw), ((pt, pb), (pl, pr)) = self.geometry(op, graph)
        x = np.asarray(inputs[0]).reshape(self.nhwc(shape))
        padded = np.pad(x, [(0, 0), (pt, pb), (pl, pr), (0, 0)])  # byte 0, as TFLM
        n, hp, wp, c = padded.shape
        blocks = padded.reshape(n, hp // bh, bh, wp // bw, bw, c).transpose(2, 4, 0, 1, 3, 5)
        return [blocks.reshape(output_tensor(graph, op).shape).copy()]


@register
class BatchToSpaceNd(_BatchSpace):
    opcode = "BATCH_TO_SPACE_ND"
    options_table = "BatchToSpaceNDOptions"

    def output_shapes(self, op, graph):
        shape = input_tensor(graph, op, 0).shape
        n, h, w, c = self.nhwc(shape)
        (bh, bw), ((ct, cb), (cl, cr)) = self.geometry(op, graph)
        if n % (bh * bw) or ct + cb >= h * bh or cl + cr >= w * bw:
            raise unsupported(op, f"batch {n} and crops do not fit the block {bh}x{bw}")
        return [self.unnhwc((n // (bh * bw), h * bh - ct - cb, w * bw - cl - cr, c), len(shape))]

    def fold(self, op, graph, inputs):
        shape = input_tensor(graph, op, 0).shape
        (bh, bw), ((ct, _), (cl, _)) = self.geometry(op, graph)
        n, h, w, c = self.nhwc(shape)
        x = np.asarray(inputs[0]).reshape(bh, bw, n // (bh * bw), h, w, c).transpose(2, 3, 0, 4, 1, 5)
        full = x.reshape(n // (bh * bw), h * bh, w * bw, c)
        _, oh, ow, _ = self.nhwc(output_tensor(graph, op).shape)
        return [full[:, ct:ct + oh, cl:cl + ow].reshape(output_tensor(graph, op).shape).copy()]
