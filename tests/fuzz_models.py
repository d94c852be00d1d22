"""A seeded mutation fuzzer for model files: every mutant is accepted (and its C compiles) or refused
with exactly one clean :class:`TinykitError`; never a traceback, a hang, a crash or a memory blow-up.

Mutations are aimed with the flatbuffer's own structure: :func:`structure` reads the model once through
the schema bindings with ``flatbuffers.table.Table`` instrumented, which records where every vtable,
offset, vector length, string length and scalar field the reader touches lies in the file. Mutants
then overwrite those positions with boundary values, flip bytes, truncate, zero or duplicate regions.

Each mutant runs in a worker process (spawned, so the test process's threads are not inherited)
under a per-mutant alarm, an address-space limit and a hard deadline after which the worker is
killed and counted as a hang. A failing mutant is saved (``save_dir``) so a test replays it forever.

Campaign from the command line (fresh seeds; failures saved under tests/fuzz_regressions/)::

    .venv/bin/python tests/fuzz_models.py --seed 1234 --count 12000 --compile-all
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import multiprocessing
import os
import pickle
import random
import re
import shutil
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REGRESSIONS = HERE / "fuzz_regressions"
BUNDLED = REPO / "tinykit" / "models"
CORPUS = HERE / "corpus"

# (file, weight): small models are drawn more often, so a fixed budget covers more mutants.
BASE_MODELS = (
    (BUNDLED / "hello_world_int8.tflite", 6),
    (BUNDLED / "kws_ref_model.tflite", 5),
    (BUNDLED / "pretrainedResnet_quant.tflite", 3),
    (BUNDLED / "ad01_int8.tflite", 1),
    (BUNDLED / "vww_96_int8.tflite", 1),
    (CORPUS / "keyword_scrambled_8bit.tflite", 1),
    (CORPUS / "micro_speech_lstm.tflite", 1),
    (CORPUS / "seanet_conv1.tflite", 1),
    (CORPUS / "seanet_add0.tflite", 1),
    (CORPUS / "seanet_pad0.tflite", 1),
    (CORPUS / "seanet_strided_slice0.tflite", 1),
    (CORPUS / "seanet_transpose_conv4.tflite", 1),
    (CORPUS / "seanet_leaky_relu0.tflite", 1),
    (CORPUS / "seanet_sub0.tflite", 1),
    (CORPUS / "seanet_quantize1.tflite", 1),
)

MUTANT_TIMEOUT_S = 20  # per mutant, in the worker (an alarm that raises where the code is stuck)
HARD_DEADLINE_S = MUTANT_TIMEOUT_S + 15  # the parent kills a worker that does not answer by then
MEMORY_LIMIT_BYTES = 3 << 30  # address space a worker may add to what it holds after start-up
COMPILE_BOARD = "qemu-m4"  # inspect --board for the board-fit path
CLEAN = ("accepted", "refused")
MAX_VECTOR_ELEMENTS = 64  # longer vectors (weights) are regions, not element fields
STAGED_MUTANT = "mutant.pickle"  # beside a staged library: the mutant that produced it


# ---------------------------------------------------------------------------------------- structure


@dataclasses.dataclass(frozen=True)
class Field:
    """One integer the reader reads from the file: where, how wide, and what it means."""

    offset: int
    width: int
    kind: str  # soffset | vtable_size | vtable_entry | uoffset | vector_len | string_len | scalar | element


class _Recorder:
    """Wraps flatbuffers' Table accessors to record the position of every field they read."""

    def __init__(self) -> None:
        self.fields: dict[tuple[int, int], str] = {}

    def add(self, offset: int, width: int, kind: str) -> None:
        self.fields.setdefault((offset, width), kind)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        from flatbuffers import encode
        from flatbuffers import number_types as nt
        from flatbuffers.table import Table

        originals = {name: getattr(Table, name) for name in
                     ("Offset", "Indirect", "String", "VectorLen", "Vector", "Union", "Get", "GetVectorAsNumpy")}
        rec = self

        def offset(tab, vtable_offset):
            vtable = tab.Pos - encode.Get(nt.SOffsetTFlags.packer_type, tab.Bytes, tab.Pos)
            rec.add(tab.Pos, 4, "soffset")
            rec.add(vtable, 2, "vtable_size")
            if vtable_offset < encode.Get(nt.VOffsetTFlags.packer_type, tab.Bytes, vtable):
                rec.add(vtable + vtable_offset, 2, "vtable_entry")
            return originals["Offset"](tab, vtable_offset)

        def indirect(tab, off):
            rec.add(off, 4, "uoffset")
            return originals["Indirect"](tab, off)

        def string(tab, off):
            rec.add(off, 4, "uoffset")
            rec.add(off + encode.Get(nt.UOffsetTFlags.packer_type, tab.Bytes, off), 4, "string_len")
            return originals["String"](tab, off)

        def vector_len(tab, off):
            at = tab.Pos + off
            rec.add(at, 4, "uoffset")
            rec.add(at + encode.Get(nt.UOffsetTFlags.packer_type, tab.Bytes, at), 4, "vector_len")
            return originals["VectorLen"](tab, off)

        def vector(tab, off):
            rec.add(tab.Pos + off, 4, "uoffset")
            return originals["Vector"](tab, off)

        def union(tab, t2, off):
            rec.add(tab.Pos + off, 4, "uoffset")
            return originals["Union"](tab, t2, off)

        def get(tab, flags, off):  # scalar fields; the wrappers above record their reads first
            rec.add(off, flags.bytewidth, "scalar")
            return originals["Get"](tab, flags, off)

        def vector_numpy(tab, flags, off):
            start, count = tab.Vector(off), tab.VectorLen(off)
            if count <= MAX_VECTOR_ELEMENTS:
                for i in range(count):
                    rec.add(start + i * flags.bytewidth, flags.bytewidth, "element")
            return originals["GetVectorAsNumpy"](tab, flags, off)

        patched = {"Offset": offset, "Indirect": indirect, "String": string, "VectorLen": vector_len,
                   "Vector": vector, "Union": union, "Get": get, "GetVectorAsNumpy": vector_numpy}
        for name, fn in patched.items():
            setattr(Table, name, fn)
        try:
            yield
        finally:
            for name, fn in originals.items():
                setattr(Table, name, fn)


def structure(buf: bytes) -> list[Field]:
    """Every integer field of a valid model the schema bindings read, in file order."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    rec = _Recorder()
    with rec.installed():
        schema.ModelT.InitFromPackedBuf(bytearray(buf), 0)
    rec.add(0, 4, "uoffset")  # the root offset
    return [Field(o, w, k) for (o, w), k in sorted(rec.fields.items()) if o + w <= len(buf)]


# ---------------------------------------------------------------------------------------- mutations


def _boundary_values(width: int, current: int) -> list[int]:
    bits = 8 * width
    top = 1 << bits
    values = [0, 1, 2, 3, 4, 7, 8, 16, 255, top - 1, top - 2, (top >> 1) - 1, top >> 1, (top >> 1) + 1,
              current + 1, current - 1, current + 4, current - 4, current * 2, current >> 1, current ^ 0x80]
    if bits >= 32:
        values += [0x7FFFFFFF, 0x10000, 0xFFFF, 1 << 24, 0x3FFFFFFF]
    return [v % top for v in values]


def _write_int(buf: bytearray, f: Field, value: int) -> None:
    buf[f.offset:f.offset + f.width] = (value % (1 << (8 * f.width))).to_bytes(f.width, "little")


def _read_int(buf: bytes, f: Field) -> int:
    return int.from_bytes(buf[f.offset:f.offset + f.width], "little")


def _pick_field(fields: list[Field], rng: random.Random, kinds: tuple[str, ...] | None = None) -> Field | None:
    """A field of a kind drawn uniformly among ``kinds`` (all present kinds by default), so the many
    per-channel scale elements of a big model do not drown its few option fields."""
    present = sorted({f.kind for f in fields if kinds is None or f.kind in kinds})
    if not present:
        return None
    kind = rng.choice(present)
    return rng.choice([f for f in fields if f.kind == kind])


def mutate_int(buf: bytearray, fields: list[Field], rng: random.Random) -> str:
    f = _pick_field(fields, rng)
    if f is None:
        return mutate_flip(buf, fields, rng)
    current = _read_int(buf, f)
    value = rng.choice([*_boundary_values(f.width, current), rng.getrandbits(8 * f.width)])
    if rng.random() < 0.15:  # the value of another field of the same width: a plausible wrong offset
        other = _pick_field([g for g in fields if g.width == f.width], rng)
        value = _read_int(buf, other) if other else value
    _write_int(buf, f, value)
    return f"int {f.kind}@{f.offset}:{current}->{value % (1 << (8 * f.width))}"


def _overwrite(buf: bytearray, fields: list[Field], rng: random.Random, kinds: tuple[str, ...], label: str,
               candidates) -> str:
    """Overwrite a field of one of ``kinds`` with a value drawn from ``candidates(current)``."""
    f = _pick_field(fields, rng, kinds)
    if f is None:
        return mutate_int(buf, fields, rng)
    current = _read_int(buf, f)
    value = rng.choice(candidates(current))
    _write_int(buf, f, value)
    return f"{label} {f.kind}@{f.offset}:{current}->{value}"


def mutate_length(buf: bytearray, fields: list[Field], rng: random.Random) -> str:
    """A vector or string length prefix: zero, off by one, doubled, past the end of the file."""
    return _overwrite(buf, fields, rng, ("vector_len", "string_len"), "len", lambda current: [
        0, 1, current + 1, current - 1, current * 2, current + 1000, 0x7FFFFFFF, 0xFFFFFFFF, 0x40000000, len(buf),
        rng.randrange(1 << 32)])


def mutate_scalar(buf: bytearray, fields: list[Field], rng: random.Random) -> str:
    """A scalar option or shape element: small signed values are where op arithmetic breaks."""
    return _overwrite(buf, fields, rng, ("scalar", "element"), "scalar", lambda current: [
        0, 1, -1, -2, 2, 3, 127, 128, -128, 255, 256, 1 << 15, (1 << 31) - 1, -(1 << 31), current + 1, current - 1,
        rng.randrange(-300, 300)])


def mutate_float(buf: bytearray, fields: list[Field], rng: random.Random) -> str:
    """A 4-byte element or scalar as a float32: NaN, infinities, zero, denormals, huge values."""
    f = _pick_field([g for g in fields if g.width == 4], rng, ("scalar", "element"))
    if f is None:
        return mutate_int(buf, fields, rng)
    value = rng.choice([0.0, -0.0, float("nan"), float("inf"), -float("inf"), 1e-45, 1e-38, 3.4e38, -1.0,
                        1e30, 1e-30, 2.0 ** 31, 1.0])
    buf[f.offset:f.offset + 4] = struct.pack("<f", value)
    return f"float {f.kind}@{f.offset}->{value}"


def mutate_flip(buf: bytearray, fields: list[Field], rng: random.Random) -> str:
    spots = []
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        f = _pick_field(fields, rng) if fields and rng.random() < 0.7 else None
        at = f.offset + rng.randrange(f.width) if f else rng.randrange(len(buf))
        buf[at] ^= rng.choice((1 << rng.randrange(8), rng.randrange(1, 256)))
        spots.append(at)
    return f"flip @{spots}"


def mutate_truncate(buf: bytearray, fields: list[Field], rng: random.Random) -> str:
    if fields and rng.random() < 0.5:
        cut = rng.choice(fields).offset + rng.choice((0, 1, 2))
    else:
        cut = rng.randrange(len(buf))
    del buf[cut:]
    return f"truncate @{cut}"


def _region(buf: bytearray, fields: list[Field], rng: random.Random) -> tuple[int, int]:
    start = rng.choice(fields).offset if fields and rng.random() < 0.7 else rng.randrange(len(buf))
    return start, min(len(buf) - start, rng.choice((2, 4, 8, 12, 16, 32, 64, 256)))


def mutate_zero(buf: bytearray, fields: list[Field], rng: random.Random) -> str:
    start, size = _region(buf, fields, rng)
    buf[start:start + size] = bytes(size)
    return f"zero @{start}+{size}"


def mutate_duplicate(buf: bytearray, fields: list[Field], rng: random.Random) -> str:
    """A region copied over another (same length) or inserted (everything after it moves)."""
    start, size = _region(buf, fields, rng)
    chunk = bytes(buf[start:start + size])
    dest = rng.choice(fields).offset if fields and rng.random() < 0.7 else rng.randrange(len(buf))
    if rng.random() < 0.3:
        buf[dest:dest] = chunk
        return f"insert @{start}+{size} at {dest}"
    chunk = chunk[:len(buf) - dest]
    buf[dest:dest + len(chunk)] = chunk
    return f"copy @{start}+{size} to {dest}"


MUTATIONS = (
    (mutate_int, 6), (mutate_length, 3), (mutate_scalar, 6), (mutate_float, 2), (mutate_flip, 4),
    (mutate_truncate, 1), (mutate_zero, 2), (mutate_duplicate, 2),
)


def mutate(base: bytes, fields: list[Field], rng: random.Random) -> tuple[bytes, str]:
    """One mutant of ``base``: one to three mutations (drawn again if they happen to change nothing)."""
    buf, steps = bytearray(base), []
    while buf == base:
        buf, steps = bytearray(base), []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            if not buf:
                break
            fn = rng.choices([m for m, _ in MUTATIONS], weights=[w for _, w in MUTATIONS])[0]
            steps.append(fn(buf, [f for f in fields if f.offset + f.width <= len(buf)], rng))
    return bytes(buf), "; ".join(steps)


@dataclasses.dataclass(frozen=True)
class Mutant:
    seed: int
    number: int
    base: str
    description: str
    data: bytes

    @property
    def name(self) -> str:
        return f"{Path(self.base).stem}-{hashlib.sha256(self.data).hexdigest()[:12]}"


def mutants(seed: int, count: int, models=BASE_MODELS) -> Iterator[Mutant]:
    """The ``count`` mutants of ``seed`` (deterministic: same seed, same bytes)."""
    bases = [(Path(p), w) for p, w in models if Path(p).is_file()]
    blobs = {p: p.read_bytes() for p, _ in bases}
    shapes = {p: structure(b) for p, b in blobs.items()}
    rng = random.Random(seed)
    for number in range(count):
        path = rng.choices([p for p, _ in bases], weights=[w for _, w in bases])[0]
        data, description = mutate(blobs[path], shapes[path], rng)
        yield Mutant(seed, number, path.name, description, data)


# ---------------------------------------------------------------------------------------- examination


@dataclasses.dataclass
class Outcome:
    """What tinykit did with one mutant. ``kind``: accepted, refused, traceback, disagree, hang,
    crash, memory. ``key`` identifies the generated C's structure (for compile deduplication)."""

    kind: str
    stage: str = ""
    error: str = ""
    detail: str = ""
    key: str = ""
    lib: str = ""


def _source_key(lib_dir: Path) -> str:
    """Hash of the generated sources with the model hash, and the values of the constant arrays,
    blanked: mutants whose weights differ only in value share a key, so one compile stands for them
    (each array has its values' numpy type, so no value can leave its C type). Params structs,
    dimensions and offsets in NAME.c stay in the key: a value there can break the compile."""
    h = hashlib.sha256()
    for path in sorted(lib_dir.glob("*.[ch]")):
        text = re.sub(rb"\b[0-9a-f]{64}\b", b"", path.read_bytes())
        if path.name.endswith("_weights.c"):
            text = re.sub(rb"-?\b\d+\b", b"0", text)
        h.update(path.name.encode() + b"\0" + text)
    return h.hexdigest()[:16]


def examine(data: bytes, work: Path) -> Outcome:
    """Run a model file through what a user would run: inspect (with a board, text report) and
    generate. Raises what tinykit raises beyond TinykitError (the caller records it)."""
    from tinykit.cli.inspect_cmd import _print_report
    from tinykit.codegen import generate
    from tinykit.errors import BoardFitError, TinykitError
    from tinykit.inspect import inspect_graph, load_for_inspection
    from tinykit.ir.support import unsupported_error

    path = work / "mutant.tflite"
    path.write_bytes(data)
    try:
        graph = load_for_inspection(path, None)
    except TinykitError as err:
        return Outcome("refused", "read", type(err).__name__, err.message)
    try:
        report = inspect_graph(graph, COMPILE_BOARD)
        with contextlib.redirect_stdout(io.StringIO()):
            _print_report(report)
        inspect_ok = not graph.unsupported_ops
        if not inspect_ok:
            unsupported_error(graph)
    except TinykitError as err:
        return Outcome("refused", "inspect", type(err).__name__, err.message)
    out = work / "lib"
    shutil.rmtree(out, ignore_errors=True)
    try:
        generate(path, out, name="model", force=True)
    except TinykitError as err:
        if inspect_ok and not isinstance(err, BoardFitError):
            return Outcome("disagree", "generate", type(err).__name__, f"inspect accepted it: {err.message}")
        stage = "generate" if inspect_ok else "inspect"  # inspect exits 2 listing the unsupported ops
        return Outcome("refused", stage, type(err).__name__, err.message)
    if not inspect_ok:
        return Outcome("disagree", "generate", "", "generate accepted a model inspect reports unsupported")
    return Outcome("accepted", "generate", key=_source_key(out), lib=str(out))


class _Alarm(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Alarm()


def _worker(conn, stage_dir: str) -> None:
    """Worker loop: receive (name, bytes), answer an Outcome; kept libraries go to ``stage_dir``."""
    import resource
    import signal

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # every command module and op family, imported before the memory limit
    import tinykit.cli
    import tinykit.codegen  # noqa: F401

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (size + MEMORY_LIMIT_BYTES, hard))
    signal.signal(signal.SIGALRM, _on_alarm)
    seen: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="tinykit-fuzz-") as tmp:
        while True:
            job = conn.recv()
            if job is None:
                return
            mutant = job
            data = mutant.data
            signal.alarm(MUTANT_TIMEOUT_S)
            try:
                outcome = examine(data, Path(tmp))
            except _Alarm:
                outcome = Outcome("hang", detail=_where())
            except MemoryError:
                outcome = Outcome("memory", detail=_where())
            except Exception as err:
                outcome = Outcome("traceback", error=type(err).__name__, detail=f"{str(err)[:200]} at {_where()}")
            finally:
                signal.alarm(0)
            if outcome.kind == "accepted" and outcome.key not in seen:
                seen.add(outcome.key)
                keep = Path(stage_dir) / outcome.key
                if not keep.exists():
                    shutil.copytree(outcome.lib, keep)
                    (keep / STAGED_MUTANT).write_bytes(pickle.dumps(mutant))  # a compile failure keeps it
            conn.send(outcome)


def _where() -> str:
    """The innermost tinykit frames of the exception being handled."""
    frames = traceback.extract_tb(sys.exc_info()[2])
    ours = [f for f in frames if "tinykit" in f.filename] or frames
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(ours[-3:]))


class _Pool:
    """Worker processes with a hard deadline per job; a dead or stuck worker is replaced."""

    def __init__(self, workers: int, stage_dir: Path) -> None:
        self.ctx = multiprocessing.get_context("spawn")
        self.stage_dir = stage_dir
        self.slots = [self._start() for _ in range(workers)]

    def _start(self):
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=_worker, args=(child, str(self.stage_dir)), daemon=True)
        proc.start()
        child.close()
        return proc, parent

    def run(self, jobs: Iterator[Mutant]) -> Iterator[tuple[Mutant, Outcome]]:
        from multiprocessing.connection import wait

        busy: dict[int, tuple[Mutant, float]] = {}
        pending = iter(jobs)
        exhausted = False
        while True:
            for i, (_, conn) in enumerate(self.slots):
                if i not in busy and not exhausted:
                    job = next(pending, None)
                    if job is None:
                        exhausted = True
                        break
                    conn.send(job)
                    busy[i] = (job, time.monotonic())
            if not busy:
                return
            ready = wait([self.slots[i][1] for i in busy], timeout=1.0)
            for i in list(busy):
                proc, conn = self.slots[i]
                job, started = busy[i]
                outcome = None
                if conn in ready:
                    try:
                        outcome = conn.recv()
                    except (EOFError, OSError):
                        proc.join(5)
                        outcome = Outcome("crash", detail=f"worker died (exit code {proc.exitcode})")
                elif time.monotonic() - started > HARD_DEADLINE_S:
                    outcome = Outcome("hang", detail=f"no answer in {HARD_DEADLINE_S} s; worker killed")
                if outcome is None:
                    continue
                if outcome.kind in ("crash", "hang") and not outcome.stage:
                    proc.kill()
                    proc.join(5)
                    self.slots[i] = self._start()
                del busy[i]
                yield job, outcome

    def close(self) -> None:
        for _, conn in self.slots:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc, _ in self.slots:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


# ---------------------------------------------------------------------------------------- campaign


@dataclasses.dataclass
class Report:
    seed: int
    count: int
    seconds: float = 0.0
    kinds: Counter = dataclasses.field(default_factory=Counter)
    refusals: Counter = dataclasses.field(default_factory=Counter)
    failures: list[tuple[Mutant, Outcome]] = dataclasses.field(default_factory=list)
    compiled: int = 0
    compile_seconds: float = 0.0
    compile_failures: list[str] = dataclasses.field(default_factory=list)
    structures: int = 0

    @property
    def clean(self) -> bool:
        return not self.failures and not self.compile_failures

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items()))
        lines = [f"seed {self.seed}: {self.count} mutants in {self.seconds:.1f} s: {kinds}; "
                 f"{self.structures} distinct accepted C structures, {self.compiled} compiled "
                 f"({self.compile_seconds:.1f} s), {len(self.compile_failures)} failed to compile"]
        lines += [f"  refused by {k}: {n}" for k, n in self.refusals.most_common()]
        lines += [f"  FAIL {o.kind} {m.name} [{m.description}]: {o.stage} {o.error} {o.detail}"
                  for m, o in self.failures[:40]]
        lines += [f"  COMPILE {c}" for c in self.compile_failures[:20]]
        return "\n".join(lines)


def encode_patch(base: bytes, mutant: bytes) -> dict:
    """``mutant`` as edits of ``base``: the common prefix and suffix are kept, and the middle is
    either byte runs that differ (same length) or the new middle itself (a few hundred bytes for a
    truncation or insertion, against hundreds of kilobytes for the whole file)."""
    limit = min(len(base), len(mutant))
    prefix = next((i for i in range(limit) if base[i] != mutant[i]), limit)
    suffix = next((i for i in range(limit - prefix) if base[-1 - i] != mutant[-1 - i]), limit - prefix)
    old, new = base[prefix:len(base) - suffix], mutant[prefix:len(mutant) - suffix]
    record: dict = {"prefix": prefix, "suffix": suffix}
    if len(old) != len(new):
        record["middle"] = new.hex()
        return record
    runs, i = [], 0
    while i < len(new):
        if old[i] == new[i]:
            i += 1
            continue
        j = i
        while j < len(new) and (old[j] != new[j] or old[j:j + 8] != new[j:j + 8]):
            j += 1
        runs.append([i, new[i:j].hex()])
        i = j
    record["runs"] = runs
    return record


def apply_patch(base: bytes, record: dict) -> bytes:
    prefix, suffix = record["prefix"], record["suffix"]
    if "middle" in record:
        middle = bytes.fromhex(record["middle"])
    else:
        middle = bytearray(base[prefix:len(base) - suffix])
        for at, data in record["runs"]:
            middle[at:at + len(data) // 2] = bytes.fromhex(data)
    return base[:prefix] + bytes(middle) + base[len(base) - suffix:]


def base_path(name: str) -> Path:
    for path, _ in BASE_MODELS:
        if Path(path).name == name:
            return Path(path)
    raise KeyError(f"{name} is not a fuzz base model")


def save_failure(mutant: Mutant, outcome: Outcome, save_dir: Path) -> Path:
    """Keep a failing mutant as a regression file: a patch of its base model, with what it did."""
    save_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "base": mutant.base, "sha256": hashlib.sha256(mutant.data).hexdigest(),
        "found": f"seed {mutant.seed} #{mutant.number}: {mutant.description}",
        "failure": f"{outcome.kind} {outcome.stage} {outcome.error}: {outcome.detail}"[:500],
        **encode_patch(base_path(mutant.base).read_bytes(), mutant.data),
    }
    path = save_dir / f"{mutant.name}.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def load_regression(path: Path) -> Mutant:
    record = json.loads(path.read_text())
    data = apply_patch(base_path(record["base"]).read_bytes(), record)
    if hashlib.sha256(data).hexdigest() != record["sha256"]:
        raise ValueError(f"{path.name}: its base model {record['base']} changed; the mutant cannot be rebuilt")
    return Mutant(0, 0, record["base"], f"regression {path.name}: {record['found']}", data)


def regression_mutants(directory: Path = REGRESSIONS) -> list[Mutant]:
    return [load_regression(p) for p in sorted(directory.glob("*.json"))]


def compile_libraries(stage_dir: Path, budget: int | None,
                      save_dir: Path | None = None) -> tuple[int, list[str]]:
    """Compile (host gcc, cached) up to ``budget`` staged libraries; returns (compiled, failures).
    The mutant of a library that does not compile is saved in ``save_dir`` as a regression."""
    from tinykit.errors import TinykitError
    from tinykit.verify import build_host_library

    libs = sorted(p for p in stage_dir.iterdir() if p.is_dir())
    if budget is not None:
        libs = random.Random(0).sample(libs, min(budget, len(libs)))
    failures = []
    for lib in libs:
        try:
            build_host_library(lib, "model")
        except TinykitError as err:
            kept = Path(tempfile.mkdtemp(prefix="tinykit-fuzz-nocompile-"))
            shutil.copytree(lib, kept / lib.name)
            failures.append(f"{lib.name}: {err.message} (sources kept in {kept / lib.name})")
            if save_dir is not None:
                mutant = pickle.loads((lib / STAGED_MUTANT).read_bytes())
                save_failure(mutant, Outcome("nocompile", "compile", "BuildError", err.message), save_dir)
    return len(libs), failures


def campaign(seed: int, count: int, workers: int = 2, compile_budget: int | None = 8,
             save_dir: Path | None = None, models=BASE_MODELS,
             jobs: Iterator[Mutant] | None = None) -> Report:
    """Run ``count`` mutants of ``seed`` (or the given ``jobs``) and compile a sample of the accepted."""
    report = Report(seed, count)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tinykit-fuzz-libs-") as stage:
        pool = _Pool(workers, Path(stage))
        try:
            for mutant, outcome in pool.run(jobs if jobs is not None else mutants(seed, count, models)):
                report.kinds[outcome.kind] += 1
                if outcome.kind == "refused":
                    report.refusals[f"{outcome.stage}:{outcome.error}"] += 1
                elif outcome.kind not in CLEAN:
                    report.failures.append((mutant, outcome))
                    if save_dir is not None:
                        save_failure(mutant, outcome, save_dir)
        finally:
            pool.close()
        report.structures = sum(1 for _ in Path(stage).iterdir())
        compile_start = time.monotonic()
        report.compiled, report.compile_failures = compile_libraries(Path(stage), compile_budget, save_dir)
        report.compile_seconds = time.monotonic() - compile_start
    report.seconds = time.monotonic() - start
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--count", type=int, default=12000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compile-all", action="store_true", help="compile every distinct accepted structure")
    parser.add_argument("--save", type=Path, default=REGRESSIONS, help="where failing mutants are kept")
    args = parser.parse_args(argv)
    report = campaign(args.seed, args.count, args.workers, None if args.compile_all else 8, args.save)
    print(report.summary())
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
