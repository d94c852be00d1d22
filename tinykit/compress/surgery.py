"""Channel-coupling analysis and structured surgery on Keras 3 functional models.

Every tensor's last axis belongs to a *channel group*. Conv2D / Dense start a new group (their
filters); BatchNorm, activations, pooling, dropout and depthwise convs (multiplier 1) pass their
input's group through; ADD / MULTIPLY merge the groups of their inputs (so residual branches are
pruned identically); Flatten records (spatial size, group) so the next Dense can drop the matching
rows. A group is frozen (never pruned) when it reaches a model output (the classifier) or a layer
we do not understand (Reshape, Concatenate, custom layers). Surgery rebuilds the model from its
config with fewer filters/units and copies the kept slices of every weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinykit.errors import TrainingError

PASS_THROUGH = ("BatchNormalization", "ReLU", "Activation", "Dropout", "MaxPooling2D", "AveragePooling2D",
                "GlobalAveragePooling2D", "GlobalMaxPooling2D", "LeakyReLU", "ZeroPadding2D", "Softmax",
                "SpatialDropout2D", "DepthwiseConv2D")
PRODUCERS = ("Conv2D", "Dense")
MERGES = ("Add", "Multiply", "Maximum", "Minimum", "Average", "Subtract")


@dataclass
class Flat:
    """A flattened tensor: Dense input row = spatial_index * channels + channel."""

    group: int
    spatial: int
    channels: int


@dataclass
class Coupling:
    """Result of the analysis: groups, their producers and the per-layer input/output groups."""

    parent: dict[int, int] = field(default_factory=dict)
    channels: dict[int, int] = field(default_factory=dict)
    producers: dict[int, list[str]] = field(default_factory=dict)
    frozen: set[int] = field(default_factory=set)
    layer_in: dict[str, int | Flat | None] = field(default_factory=dict)
    layer_out: dict[str, int | None] = field(default_factory=dict)

    def find(self, g: int) -> int:
        while self.parent[g] != g:
            self.parent[g] = self.parent[self.parent[g]]
            g = self.parent[g]
        return g

    def new(self, channels: int) -> int:
        g = len(self.parent)
        self.parent[g], self.channels[g] = g, channels
        return g

    def union(self, groups: list[int]) -> int:
        roots = {self.find(g) for g in groups}
        root = min(roots)
        for r in roots:
            self.parent[r] = root
        return root

    def prunable(self) -> dict[int, list[str]]:
        """Root group -> producer layer names, for groups that may lose channels."""
        out: dict[int, list[str]] = {}
        frozen = {self.find(g) for g in self.frozen}
        for g, names in self.producers.items():
            root = self.find(g)
            if root not in frozen:
                out.setdefault(root, []).extend(names)
        return out


def _inputs(layer) -> list:
    if len(getattr(layer, "_inbound_nodes", [])) > 1:
        raise TrainingError(f"layer {layer.name} is shared (called more than once); cannot prune it")
    inp = layer.input
    return list(inp) if isinstance(inp, (list, tuple)) else [inp]


def _kind(layer) -> str:
    name = type(layer).__name__
    if name == "DepthwiseConv2D" and layer.depth_multiplier != 1:
        return "other"
    if name in PRODUCERS:
        return "producer"
    if name in PASS_THROUGH:
        return "pass"
    if name in MERGES:
        return "merge"
    return {"Flatten": "flatten", "InputLayer": "input"}.get(name, "other")


def analyse(model) -> Coupling:
    """Walk the functional graph once, in topological order, assigning channel groups."""
    if not hasattr(model, "_operations") or type(model).__name__ == "Sequential":
        raise TrainingError("structured pruning needs a functional Keras model (not Sequential/subclassed)")
    cp = Coupling()
    groups: dict[int, int | Flat | None] = {}
    for layer in model.layers:
        kind = _kind(layer)
        if kind == "input":
            groups[id(layer.output)] = None
            continue
        ins = [groups.get(id(t)) for t in _inputs(layer)]
        g_in = ins[0]
        cp.layer_in[layer.name] = g_in
        if kind == "producer":
            if isinstance(g_in, int) and type(layer).__name__ == "Conv2D" and layer.groups != 1:
                cp.frozen.add(g_in)
            out = cp.new(int(layer.output.shape[-1]))
            cp.producers[out] = [layer.name]
        elif kind == "pass" and not isinstance(g_in, Flat):
            out = g_in
        elif kind == "merge" and all(isinstance(g, int) for g in ins):
            out = cp.union(ins)
        elif kind == "flatten" and isinstance(g_in, int):
            shape = layer.input.shape
            out = Flat(g_in, int(np.prod(shape[1:-1])), int(shape[-1]))
        else:
            _freeze(cp, ins)
            out = None
        groups[id(layer.output)] = out
        cp.layer_out[layer.name] = out if isinstance(out, int) else None
    outputs = model.outputs if isinstance(model.outputs, list) else [model.outputs]
    _freeze(cp, [groups.get(id(t)) for t in outputs])
    return cp


def _freeze(cp: Coupling, groups: list) -> None:
    for g in groups:
        if isinstance(g, Flat):
            cp.frozen.add(g.group)
        elif isinstance(g, int):
            cp.frozen.add(g)


def _index(cp: Coupling, g, keep: dict[int, np.ndarray]) -> np.ndarray | None:
    """Kept indices along an axis fed by group (or flattened group) ``g``; None keeps everything."""
    if isinstance(g, Flat):
        k = keep.get(cp.find(g.group))
        if k is None:
            return None
        return (np.arange(g.spatial)[:, None] * g.channels + k[None, :]).ravel()
    return keep.get(cp.find(g)) if isinstance(g, int) else None


def _slice(w: np.ndarray, axis: int, idx: np.ndarray | None) -> np.ndarray:
    return w if idx is None else np.take(w, idx, axis=axis)


def _new_weights(layer, cp: Coupling, keep: dict[int, np.ndarray]) -> list[np.ndarray]:
    weights = layer.get_weights()
    kind, name = type(layer).__name__, layer.name
    i_in, i_out = _index(cp, cp.layer_in.get(name), keep), _index(cp, cp.layer_out.get(name), keep)
    if kind in PRODUCERS:
        kernel = _slice(_slice(weights[0], -2, i_in), -1, i_out)
        return [kernel, *(_slice(b, 0, i_out) for b in weights[1:])]
    if kind == "DepthwiseConv2D" and layer.depth_multiplier == 1:
        return [_slice(weights[0], -2, i_in), *(_slice(b, 0, i_in) for b in weights[1:])]
    if kind == "BatchNormalization":
        return [_slice(w, 0, i_in) for w in weights]
    return weights


def apply(model, cp: Coupling, keep: dict[int, np.ndarray]):
    """A new model with only the kept channels of each group (keep: root group -> sorted indices)."""
    import keras

    counts = {}
    for g, names in cp.prunable().items():
        if g in keep:
            for n in names:
                counts[n] = len(keep[g])
    config = model.get_config()
    for layer in config["layers"]:
        layer.pop("build_config", None)  # records the old shapes; layers rebuild from their inputs
        n = layer["config"]["name"]
        if n in counts:
            key = "filters" if "filters" in layer["config"] else "units"
            layer["config"][key] = counts[n]
    new = keras.Model.from_config(config)
    for layer in model.layers:
        if layer.get_weights():
            new.get_layer(layer.name).set_weights(_new_weights(layer, cp, keep))
    return new


def count_macs(model) -> int:
    """Multiply-accumulates of conv, depthwise and dense layers for one inference."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            kh, kw = layer.kernel_size
            total += int(np.prod(layer.output.shape[1:])) * kh * kw * int(layer.input.shape[-1]) // layer.groups
        elif kind == "DepthwiseConv2D":
            kh, kw = layer.kernel_size
            total += int(np.prod(layer.output.shape[1:])) * kh * kw
        elif kind == "Dense":
            total += int(np.prod(layer.output.shape[1:])) * int(layer.input.shape[-1])
    return total
