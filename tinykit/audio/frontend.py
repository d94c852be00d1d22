"""On-device audio front end: render the C MFCC / log-mel pipeline from a model's features.json.

The C code in ``firmware/frontend/`` holds only arithmetic; every table and constant it uses is
computed here from :class:`~tinykit.data.features.FeatureConfig` (whose numpy functions are the
specification) and the model's int8 input quantization, put in a typed :class:`FrontendContext`,
and substituted by the templates in ``templates/frontend/``. The float tables are the exact float32
values numpy uses, so the float path differs from Python only by summation order and libm.

The fixed-point path (cores without an FPU) scales the windowed frame so that no FFT butterfly
can overflow 32 bits, keeps the mel energies in 64-bit accumulators and takes logarithms by
repeated squaring; the shifts below are chosen from worst-case bounds, not tuned by hand.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinykit import __version__
from tinykit.data.features import FeatureConfig, compute_features, dct_matrix, mel_matrix
from tinykit.errors import BuildError, DataError, ModelFormatError, ToolMissingError
from tinykit.files import write_atomic
from tinykit.render import render_template
from tinykit.resources import firmware_dir
from tinykit.targets.cpus import get_cpu

C_SOURCES = ("tk_frontend.c",)
HEADERS = ("tk_frontend.h", "tk_frontend_tables.h")
GENERATED = {"tk_frontend_config.h.j2": "tk_frontend_config.h", "tk_frontend_tables.c.j2": "tk_frontend_tables.c"}
HOST_DRIVER = "host/tk_frontend_host.c"
WINDOW_Q = 31  # window in Q31 (a Q15 window leaks: its rounding is multiplicative noise)
VALUE_EXP_MAX = 40  # cap of the per-frame block exponent (silence)
TWIDDLE_Q = 31  # FFT twiddles in Q31
DCT_Q = 28  # DCT matrix in Q28 (|entries| <= sqrt(2/n_mel) keeps 40 products of Q24*Q28 < 2^63)
LOG_Q = 24  # natural log of the mel energies in Q24
MFCC_Q = 22  # MFCC before quantization in Q22 (|mfcc| < 512)
MEL_Q_MAX = 20  # mel weights in Q20 unless the band sums force fewer bits
MEL_Q_POWER = 12  # power spectrum: fewer weight bits, more spectrum bits (measured best of 6..24)
QUANT_MULT_BITS = 30
ROW = 8  # table entries per line in the generated C


@dataclass
class Table:
    """One C array: its declaration and the pre-formatted rows of literals."""

    decl: str
    rows: list[str]


@dataclass(frozen=True)
class Framing:
    """How audio becomes frames and features (features.json)."""

    sample_rate: int
    clip_samples: int
    frame_length: int
    frame_step: int
    num_frames: int
    fft_length: int
    num_mel: int
    num_coeffs: int

    @property
    def fft_log2(self) -> int:
        return self.fft_length.bit_length() - 1

    @property
    def num_bins(self) -> int:
        return self.fft_length // 2 + 1

    @property
    def feature_bytes(self) -> int:
        return self.num_frames * self.num_coeffs


@dataclass(frozen=True)
class FixedScaling:
    """The fixed-point path's exponents (from worst-case bounds) and the input quantization multiplier."""

    window_exp: int
    value_exp_min: int
    value_exp_max: int
    power_shift: int
    mel_q: int
    ln2_q30: int
    quant_mult: int
    quant_shift: int


@dataclass
class FrontendContext:
    """Everything the front-end templates substitute."""

    banner: str
    source: str
    kind: str
    spectrum: str
    fixed: int
    framing: Framing
    scaling: FixedScaling
    input_scale_repr: str
    zero_point: int
    log_offset_repr: str
    mel_start: list[int] = field(default_factory=list)
    mel_count: list[int] = field(default_factory=list)
    mel_offset: list[int] = field(default_factory=list)
    mel_weights_count: int = 0
    fixed_tables: list[Table] = field(default_factory=list)
    float_tables: list[Table] = field(default_factory=list)

    @property
    def mfcc(self) -> int:
        return int(self.kind == "mfcc")

    @property
    def power(self) -> int:
        return int(self.spectrum == "power")


@dataclass(frozen=True)
class FrontendSources:
    """A rendered front end: the directory, its .c files and include directories."""

    dir: Path
    sources: tuple[Path, ...]
    include_dirs: tuple[Path, ...]
    fixed: bool


def f32_literal(x: float) -> str:
    """Shortest decimal that round-trips the float32 value (C float literal without the suffix)."""
    v = np.float32(x)
    text = np.format_float_positional(v, unique=True, trim="0") if abs(v) >= 1e-4 or v == 0 else \
        np.format_float_scientific(v, unique=True, trim="0")
    return text if any(c in text for c in ".e") else text + ".0"


def _rows(values, fmt) -> list[str]:
    items = [fmt(v) for v in values]
    return [", ".join(items[i : i + ROW]) for i in range(0, len(items), ROW)]


def _q(values: np.ndarray, bits: int, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.round(np.asarray(values, np.float64) * (1 << bits)), lo, hi).astype(np.int64)


def sparse_mel(cfg: FeatureConfig) -> tuple[list[int], list[int], list[int], np.ndarray]:
    """Start bin, count and offset of each band's nonzero weights, and the packed float32 weights."""
    dense = mel_matrix(cfg)
    starts, counts, offsets, packed = [], [], [], []
    for b in range(dense.shape[1]):
        nz = np.nonzero(dense[:, b])[0]
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 0)
        starts.append(lo)
        counts.append(hi - lo)
        offsets.append(len(packed))
        packed.extend(dense[lo:hi, b].tolist())
    return starts, counts, offsets, np.asarray(packed, np.float32)


def _quant_multiplier(scale: float, value_q: int) -> tuple[int, int]:
    """(mult, shift) with q = (v * mult) >> shift ~= v * 2^-value_q / scale, mult ~ 2^30."""
    factor = 1.0 / (scale * (1 << value_q))
    shift = QUANT_MULT_BITS - math.ceil(math.log2(factor))
    if not 1 <= shift <= 62:
        raise ModelFormatError(f"input scale {scale} is out of the range the fixed-point front end supports")
    return round(factor * (1 << shift)), shift


def _fixed_constants(cfg: FeatureConfig, band_sums: np.ndarray) -> dict:
    """Exponents from worst-case bounds: FFT values < 2^30, 64-bit mel accumulators never overflow.

    The C code scales each windowed frame by 2^value_exp (real value = int * 2^-value_exp), the
    largest exponent keeping sum |x * w| < 2^30; the log offset is therefore tabulated per exponent.
    """
    window_exp = 15 + WINDOW_Q  # pcm (Q15 of [-1, 1)) times the Q31 window
    value_exp_min = window_exp + 30 - (cfg.frame_length << window_exp).bit_length()
    power = cfg.spectrum == "power"
    sum_bits = math.ceil(math.log2(max(float(band_sums.max()) if band_sums.size else 1.0, 1.0)) + 1e-9)
    if power:  # |X|^2 < 2^60: keep as many low bits as the 64-bit accumulator allows
        mel_q = MEL_Q_POWER
        power_shift = max(0, 60 + mel_q + sum_bits + 1 - 64)
    else:  # |X| < 2^31
        power_shift = 0
        mel_q = min(MEL_Q_MAX, 64 - 31 - sum_bits - 1)
    exps = range(value_exp_min, VALUE_EXP_MAX + 1)
    log_exps = [(2 * e - power_shift if power else e) + mel_q for e in exps]
    return {"window_exp": window_exp, "value_exp_min": value_exp_min, "value_exp_max": VALUE_EXP_MAX,
            "power_shift": power_shift, "mel_q": mel_q, "ln2_q30": round(math.log(2.0) * (1 << 30)),
            "log_offset_units": [max(1, round(cfg.log_offset * 2.0**x)) for x in log_exps]}


def build_context(cfg: FeatureConfig, input_scale: float, zero_point: int, fixed: bool,
                  source: str = "features.json") -> FrontendContext:
    """Compute every table and constant of the C front end (float and fixed-point)."""
    if cfg.fft_length & (cfg.fft_length - 1):
        raise DataError(f"fft_length {cfg.fft_length} is not a power of two", hint="the C FFT is radix-2")
    if cfg.window != "hann_periodic":
        raise DataError(f"window {cfg.window!r} is not supported by the C front end (hann_periodic only)")
    if not input_scale > 0:
        raise ModelFormatError(f"model input scale {input_scale} is not positive; is the input int8?")
    starts, counts, offsets, weights = sparse_mel(cfg)
    band_sums = np.array([weights[o : o + c].sum() for o, c in zip(offsets, counts, strict=True)])
    k = _fixed_constants(cfg, band_sums)
    mfcc = cfg.kind == "mfcc"
    mult, shift = _quant_multiplier(input_scale, MFCC_Q if mfcc else LOG_Q)
    n = np.arange(cfg.frame_length)
    window = (0.5 - 0.5 * np.cos(2 * np.pi * n / cfg.frame_length)).astype(np.float32)  # as features.py
    framing = Framing(sample_rate=cfg.sample_rate, clip_samples=cfg.clip_samples, frame_length=cfg.frame_length,
                      frame_step=cfg.frame_step, num_frames=cfg.num_frames, fft_length=cfg.fft_length,
                      num_mel=cfg.num_mel_bins, num_coeffs=cfg.shape[1])
    scaling = FixedScaling(window_exp=k["window_exp"], value_exp_min=k["value_exp_min"],
                           value_exp_max=k["value_exp_max"], power_shift=k["power_shift"], mel_q=k["mel_q"],
                           ln2_q30=k["ln2_q30"], quant_mult=mult, quant_shift=shift)
    ctx = FrontendContext(
        banner=f"generated by tinykit {__version__}, do not edit", source=source, kind=cfg.kind,
        spectrum=cfg.spectrum, fixed=int(fixed), framing=framing, scaling=scaling,
        input_scale_repr=f32_literal(input_scale), zero_point=int(zero_point),
        log_offset_repr=f32_literal(cfg.log_offset), mel_start=starts, mel_count=counts, mel_offset=offsets,
        mel_weights_count=max(1, len(weights)))
    ctx.fixed_tables, ctx.float_tables = _tables(cfg, window, weights, k)
    return ctx


def _tables(cfg: FeatureConfig, window: np.ndarray, weights: np.ndarray, k: dict) -> tuple[list[Table], list[Table]]:
    """The fixed-point and the float32 tables (DCT only for MFCC)."""
    ang = 2 * np.pi * np.arange(cfg.fft_length // 2) / cfg.fft_length
    i32 = (-(1 << 31), (1 << 31) - 1)
    fixed = [
        Table("const int32_t tk_fe_window_q31[TK_FE_FRAME_LENGTH]", _rows(_q(window, WINDOW_Q, *i32), str)),
        Table("const uint64_t tk_fe_log_offset_units[TK_FE_VALUE_EXP_MAX - TK_FE_VALUE_EXP_MIN + 1]",
              _rows(k["log_offset_units"], lambda v: f"UINT64_C({v})")),
        Table("const int32_t tk_fe_cos_q31[TK_FE_FFT_LENGTH / 2]", _rows(_q(np.cos(ang), TWIDDLE_Q, *i32), str)),
        Table("const int32_t tk_fe_sin_q31[TK_FE_FFT_LENGTH / 2]", _rows(_q(np.sin(ang), TWIDDLE_Q, *i32), str)),
        Table("const uint32_t tk_fe_mel_weights_q[TK_FE_MEL_WEIGHTS]",
              _rows(_q(weights, k["mel_q"], 0, (1 << 31) - 1) if weights.size else [0], str))]
    floats = [
        Table("const float tk_fe_window_f32[TK_FE_FRAME_LENGTH]", _rows(window, _flit)),
        Table("const float tk_fe_cos_f32[TK_FE_FFT_LENGTH / 2]", _rows(np.cos(ang), _flit)),
        Table("const float tk_fe_sin_f32[TK_FE_FFT_LENGTH / 2]", _rows(np.sin(ang), _flit)),
        Table("const float tk_fe_mel_weights_f32[TK_FE_MEL_WEIGHTS]", _rows(weights if weights.size else [0], _flit))]
    if cfg.kind == "mfcc":
        dct = dct_matrix(cfg)
        fixed.append(Table("const int32_t tk_fe_dct_q28[TK_FE_NUM_MEL * TK_FE_NUM_COEFFS]",
                           _rows(_q(dct.ravel(), DCT_Q, *i32), str)))
        floats.append(Table("const float tk_fe_dct_f32[TK_FE_NUM_MEL * TK_FE_NUM_COEFFS]", _rows(dct.ravel(), _flit)))
    return fixed, floats


def _flit(x: float) -> str:
    return f32_literal(x) + "f"


def input_quantization(model_path: Path) -> tuple[float, int]:
    """Scale and zero point of the model's input 0 (must be int8)."""
    from tinykit.ir import read_model

    graph = read_model(Path(model_path))
    t = graph.tensors[graph.inputs[0]]
    if t.dtype != "int8" or t.quantization is None:
        raise ModelFormatError(f"{model_path}: input is {t.dtype}, the audio front end needs an int8 input",
                               hint="quantize the model with `tinykit quantize`")
    return float(t.scale), int(t.zero_point)


def feature_config_for(model_path: Path) -> FeatureConfig:
    """The features.json next to the model (an audio model always has one)."""
    cfg = FeatureConfig.load(Path(model_path))
    if cfg is None:
        raise DataError(f"no features.json next to {model_path}",
                        hint="audio models trained by tinykit carry it; copy it next to the .tflite")
    return cfg


def fixed_for_cpu(cpu: str) -> bool:
    """True for cores without an FPU (the integer path), from the CPU table."""
    return not get_cpu(cpu).fpu


def render_frontend(cfg: FeatureConfig, input_scale: float, zero_point: int, out_dir: Path,
                    fixed: bool = False, source: str = "features.json") -> FrontendSources:
    """Copy the C front end into ``out_dir`` and render its configuration header and tables."""
    ctx = build_context(cfg, input_scale, zero_point, fixed, source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for template, name in GENERATED.items():
        write_atomic(out_dir / name, render_template("frontend", template, ctx=ctx))
    for name in (*C_SOURCES, *HEADERS):
        shutil.copyfile(firmware_dir("frontend") / name, out_dir / name)
    sources = tuple(out_dir / n for n in (*C_SOURCES, "tk_frontend_tables.c"))
    return FrontendSources(out_dir, sources, (out_dir, firmware_dir("kernels") / "include"), fixed)


def render_for_model(model_path: Path, out_dir: Path, fixed: bool = False) -> FrontendSources:
    """Render the front end of an int8 audio model from its features.json and input quantization."""
    scale, zp = input_quantization(model_path)
    return render_frontend(feature_config_for(model_path), scale, zp, out_dir, fixed,
                           source=f"{Path(model_path).name} + features.json")


def host_compile(fe: FrontendSources, exe: Path | None = None, fixed: bool | None = None) -> Path:
    """Compile the front end with the host gcc and a small driver (PCM file in, int8 file out)."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise ToolMissingError("host gcc not found", hint="sudo apt-get install gcc")
    exe = Path(exe or fe.dir / "tk_frontend_host")
    flag = int(fe.fixed if fixed is None else fixed)
    driver = firmware_dir("frontend") / HOST_DRIVER
    cmd = [gcc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-DTK_FE_FIXED={flag}",
           *[f"-I{d}" for d in fe.include_dirs], *map(str, fe.sources), str(driver), "-lm", "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"host compile of the front end failed: {proc.stderr.strip()[:2000]}")
    return exe


def run_host(exe: Path, pcm: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Features of clips [batch, clip_samples] (int16) from the host-compiled front end."""
    pcm = np.atleast_2d(np.asarray(pcm, np.int16))
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.pcm", Path(tmp) / "out.s8"
        src.write_bytes(pcm.astype("<i2").tobytes())
        proc = subprocess.run([str(exe), str(src), str(dst), str(pcm.shape[1])], capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"front end host run failed: {proc.stderr.strip()}")
        out = np.frombuffer(dst.read_bytes(), np.int8)
    return out.reshape(pcm.shape[0], cfg.num_frames, cfg.shape[1])


def python_reference(pcm: np.ndarray, cfg: FeatureConfig, input_scale: float, zero_point: int) -> np.ndarray:
    """The specification: features.py on pcm / 32768, quantized as the host quantizes model inputs."""
    audio = np.atleast_2d(np.asarray(pcm, np.int16)).astype(np.float32) / np.float32(32768.0)
    x = compute_features(audio, cfg)[..., 0]
    return np.clip(np.round(x / input_scale + zero_point), -128, 127).astype(np.int8)


def agreement(a: np.ndarray, b: np.ndarray) -> dict:
    """Fraction of equal bytes and the largest difference between two int8 feature arrays."""
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return {"bytes": int(diff.size), "equal_fraction": float(np.mean(diff == 0)) if diff.size else 1.0,
            "max_diff": int(diff.max(initial=0))}
