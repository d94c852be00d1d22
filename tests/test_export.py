"""`tinykit export`: every layout built with the real tools available here, run, and compared byte for
byte with the tflite-micro runtime on the example's inputs.

CMake (host compiler; arm-none-eabi toolchain file + QEMU; add_subdirectory from a user project),
Make (host; `make board` + QEMU), Arduino and PlatformIO (the sketch compiled as the Arduino tools do,
as a C++ translation unit with arm-none-eabi-g++, linked with the library and run on QEMU), Zephyr
(module.yml checked; the module's sources and the sample's example compiled and run on the host).
arduino-cli, PlatformIO and west are not installed: their own builds are not run (docs/export.md).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tinykit.cli import main
from tinykit.export import export_model, manifests
from tinykit.export.context import example_inputs
from tinykit.models import reference_model
from tinykit.targets.boards import load_board

pytestmark = pytest.mark.host
FIXTURES = Path(__file__).parent / "fixtures" / "arduino"
ARM = "arm-none-eabi-"
QEMU_TIMEOUT_S = 60
BOARD = "qemu-m4"
needs_arm = pytest.mark.skipif(shutil.which(f"{ARM}gcc") is None or shutil.which("qemu-system-arm") is None,
                               reason="arm-none-eabi-gcc and qemu-system-arm are needed")
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is needed")
MODELS = ["hello_world", pytest.param("kws", marks=pytest.mark.slow)]
LINE = re.compile(r"tk-example input=(\d+) output=(\d+) offset=(\d+) ([0-9a-f]*)")


def _reference(model: str) -> dict[tuple[int, int], bytes]:
    from tinykit import oracle
    from tinykit.ir import read_model

    path = reference_model(model)
    outs = oracle.reference_outputs(path, example_inputs(read_model(path)))
    return {(k, i): out for k, step in enumerate(outs) for i, out in enumerate(step)}


_REFS: dict[str, dict] = {}


def _check(model: str, text: str) -> None:
    """The example's printed bytes against the reference runtime: 0 mismatched bytes."""
    assert "tk-example done" in text, text[-2000:]
    got: dict[tuple[int, int], bytearray] = {}
    for k, i, offset, hexbytes in LINE.findall(text):
        buf = got.setdefault((int(k), int(i)), bytearray())
        assert int(offset) == len(buf)
        buf += bytes.fromhex(hexbytes)
    ref = _REFS.setdefault(model, _reference(model))
    assert set(got) == set(ref)
    mismatched = sum(a != b for key in ref for a, b in zip(got[key], ref[key], strict=True))
    assert mismatched == 0 and all(len(got[key]) == len(ref[key]) for key in ref)


def _run(cmd: list, cwd: Path | None = None) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _qemu(elf: Path) -> str:
    """Run an ELF on the board's emulator until the example says it is done."""
    cmd = ["qemu-system-arm", "-M", load_board(BOARD).emulator, "-display", "none", "-monitor", "none",
           "-serial", "stdio", "-kernel", str(elf)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    lines, end = [], time.monotonic() + QEMU_TIMEOUT_S
    try:
        while time.monotonic() < end:
            line = proc.stdout.readline()
            lines.append(line)
            if not line or "tk-example done" in line or "tk-example error" in line:
                break
    finally:
        proc.kill()
        proc.wait()
    return "".join(lines)


def _export(tmp_path: Path, model: str, fmt: str, board: str | None = BOARD) -> Path:
    out = tmp_path / fmt
    res = export_model(reference_model(model), fmt, out, board)
    assert json.loads((out / "export.json").read_text())["format"] == fmt and res.files
    return out


# -- CMake -------------------------------------------------------------------------------------------
@needs_cmake
@pytest.mark.parametrize("model", MODELS)
def test_cmake_builds_alone_and_runs_bit_exact(tmp_path, model):
    out = _export(tmp_path, model, "cmake")
    _run(["cmake", "-S", out, "-B", tmp_path / "build", "-DCMAKE_BUILD_TYPE=Release"])
    _run(["cmake", "--build", tmp_path / "build", "-j2"])
    name = json.loads((out / "export.json").read_text())["name"]
    _check(model, _run([tmp_path / "build" / f"{name}_example"]))


@needs_cmake
@needs_arm
@pytest.mark.qemu
@pytest.mark.parametrize("model", MODELS)
def test_cmake_toolchain_file_links_the_example_for_the_board(tmp_path, model):
    out = _export(tmp_path, model, "cmake")
    _run(["cmake", "-S", out, "-B", tmp_path / "arm", "-DCMAKE_BUILD_TYPE=MinSizeRel",
          f"-DCMAKE_TOOLCHAIN_FILE={out / 'cmake' / 'arm-none-eabi.cmake'}"])
    _run(["cmake", "--build", tmp_path / "arm", "-j2"])
    (elf,) = (tmp_path / "arm").glob("*_example.elf")
    flags = _run([f"{ARM}gcc", *load_board(BOARD).compile_flags, "-E", "-dM", "-x", "c", "/dev/null"])
    assert "__ARM_FEATURE_DSP 1" in flags  # the toolchain file's flags select the board's DSP kernels
    _check(model, _qemu(elf))


@needs_cmake
def test_cmake_add_subdirectory_from_a_user_project(tmp_path):
    """The export as a dependency: its example stays out, the user's program links the library."""
    lib = _export(tmp_path, "hello_world", "cmake")
    user = tmp_path / "user"
    user.mkdir()
    (user / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(user_app C)\n"
        f"add_subdirectory({lib} model)\nadd_executable(app main.c)\n"
        "target_link_libraries(app PRIVATE hello_world_int8)\n")
    (user / "main.c").write_text(
        '#include <stdio.h>\n#include <string.h>\n#include "hello_world_int8.h"\n'
        "int main(void)\n{\n    const unsigned char *out;\n    if (hello_world_int8_init() != TK_OK) return 1;\n"
        "    memset(hello_world_int8_input(0), 0, hello_world_int8_input_bytes(0));\n"
        "    if (hello_world_int8_invoke() != TK_OK) return 1;\n"
        "    out = (const unsigned char *)hello_world_int8_output(0);\n"
        '    printf("%02x\\n", out[0]);\n    return 0;\n}\n')
    _run(["cmake", "-S", user, "-B", tmp_path / "ub"])
    _run(["cmake", "--build", tmp_path / "ub"])
    assert not list((tmp_path / "ub").rglob("hello_world_int8_example"))
    from tinykit import oracle

    zero = bytes(oracle.input_specs(reference_model("hello_world"))[0].dtype.itemsize)
    (ref,) = oracle.reference_outputs(reference_model("hello_world"), [zero])[0]
    assert bytes.fromhex(_run([tmp_path / "ub" / "app"]).strip()) == ref


# -- Make -------------------------------------------------------------------------------------------
@needs_arm
@pytest.mark.parametrize("model", MODELS)
def test_make_builds_host_and_board(tmp_path, model):
    out = _export(tmp_path, model, "make")
    _run(["make", "-C", out, "-j2"])
    name = json.loads((out / "export.json").read_text())["name"]
    _check(model, _run([out / "build" / "host" / f"{name}_example"]))
    _run(["make", "-C", out, "board", "-j2"])
    _check(model, _qemu(out / "build" / "board" / f"{name}_example.elf"))


# -- Arduino and PlatformIO: a C++ translation unit including the header, as their tools build ------------
def _cross_compile_sketch(tmp_path: Path, model: str, lib: Path, sketch_dir: Path, sketch: Path) -> Path:
    """Library and example as C, the sketch as C++ (Arduino.h first), board support from a cmake export."""
    board = _export(tmp_path / "support", model, "cmake") / "board"
    flags = [*load_board(BOARD).compile_flags, "-Os", "-ffunction-sections", "-fdata-sections"]
    includes = [f"-I{lib / 'src'}", f"-I{sketch_dir}", f"-I{FIXTURES}", f"-I{board}", f"-I{board / 'include'}"]
    cpp = tmp_path / "sketch.cpp"
    cpp.write_text(f'#include <Arduino.h>\n#line 1 "{sketch.name}"\n' + sketch.read_text())
    objs = []
    c_files = [*sorted((lib / "src").glob("*.c")), *sorted(sketch_dir.glob("*.c")),
               *(p for p in sorted(board.rglob("*.c")))]
    for n, src in enumerate([*c_files, cpp, FIXTURES / "arduino_main.cpp"]):
        obj = tmp_path / f"o{n}.o"
        tool = f"{ARM}g++" if src.suffix == ".cpp" else f"{ARM}gcc"
        std = ["-std=gnu++11", "-fno-exceptions", "-fno-rtti"] if src.suffix == ".cpp" else ["-std=gnu11"]
        _run([tool, *flags, *std, "-Wall", "-Werror", *includes, "-c", src, "-o", obj])
        objs.append(obj)
    elf = tmp_path / "sketch.elf"
    _run([f"{ARM}g++", *flags, *objs, "-T", board / "linker.ld", "-nostartfiles", "--specs=nano.specs",
          "-Wl,--gc-sections", "-o", elf])
    return elf


def _arduino_sketch(lib: Path) -> tuple[Path, Path]:
    manifests.check_library_properties(lib / "library.properties")
    (example,) = (lib / "examples").iterdir()
    return example, example / f"{example.name}.ino"


def _platformio_sketch(lib: Path) -> tuple[Path, Path]:
    manifests.check_library_json(lib / "library.json")
    (example,) = (lib / "examples").iterdir()
    assert "framework = arduino" in (example / "platformio.ini").read_text()
    return example / "src", example / "src" / "main.cpp"


@needs_arm
@pytest.mark.qemu
@pytest.mark.parametrize("fmt", ["arduino", "platformio"])
@pytest.mark.parametrize("model", MODELS)
def test_arduino_and_platformio_libraries_compile_as_cpp_and_run(tmp_path, model, fmt):
    lib = _export(tmp_path, model, fmt)
    sketch_dir, sketch = (_arduino_sketch if fmt == "arduino" else _platformio_sketch)(lib)
    _check(model, _qemu(_cross_compile_sketch(tmp_path, model, lib, sketch_dir, sketch)))


# -- Zephyr -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", MODELS)
def test_zephyr_module_is_valid_and_its_sources_run(tmp_path, model):
    mod = _export(tmp_path, model, "zephyr")
    manifests.check_module_yml(mod / "zephyr" / "module.yml")
    name = json.loads((mod / "export.json").read_text())["name"]
    assert f"config TINYKIT_{name.upper()}\n\tbool" in (mod / "Kconfig").read_text()
    cmake = (mod / "CMakeLists.txt").read_text()
    listed = set(re.findall(r"src/(\S+\.c)", cmake))
    assert listed == {p.name for p in (mod / "src").glob("*.c")} and f"if(CONFIG_TINYKIT_{name.upper()})" in cmake
    sample = mod / "samples" / f"{name}_example"
    assert (sample / "prj.conf").read_text().endswith(f"CONFIG_TINYKIT_{name.upper()}=y\n")
    main_c = tmp_path / "main.c"
    main_c.write_text(f'#include <stdio.h>\n#include "{name}_example.h"\n'
                      "static void line(const char *s) { puts(s); }\n"
                      f"int main(void) {{ return {name}_example_run(line); }}\n")
    exe = tmp_path / "zephyr_sources"
    _run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{mod / 'src'}", f"-I{sample / 'src'}",
          *sorted((mod / "src").glob("*.c")), sample / "src" / f"{name}_example.c", main_c, "-o", exe])
    _check(model, _run([exe]))


# -- manifests, CLI ---------------------------------------------------------------------------------------
def test_manifest_checks_catch_what_the_specifications_forbid(tmp_path):
    ard = _export(tmp_path, "hello_world", "arduino", board="nano33ble")
    props = ard / "library.properties"
    fields = manifests.parse_properties(props.read_text())
    assert fields["architectures"] == "mbed_nano" and fields["includes"] == "hello_world_int8.h"
    for change, message in (({"version": "1.0"}, "not semver"), ({"category": "Machine Learning"}, "category"),
                            ({"name": "Arduino_model"}, "name"), ({"colour": "red"}, "unknown field"),
                            ({"url": ""}, "url is missing")):
        props.write_text(manifests.format_properties({**fields, **change}))
        with pytest.raises(manifests.ManifestError, match=message):
            manifests.check_library_properties(props)
    pio = _export(tmp_path, "hello_world", "platformio", board="pico")
    data = json.loads((pio / "library.json").read_text())
    assert data["platforms"] == ["raspberrypi"]
    for change, message in (({"name": "bad--name"}, "name"), ({"version": "v1"}, "semver"),
                            ({"build": {"cflags": "-O2"}}, "unknown build field"), ({"autor": "x"}, "unknown field")):
        (pio / "library.json").write_text(json.dumps({**data, **change}))
        with pytest.raises(manifests.ManifestError, match=message):
            manifests.check_library_json(pio / "library.json")
    zep = _export(tmp_path, "hello_world", "zephyr", board=None)
    module = zep / "zephyr" / "module.yml"
    for text, message in (("build:\n  cmake: nowhere\n", "holds no CMakeLists"),
                          ("build:\n  cmakes: .\n", "not allowed"),
                          ("samples: samples\n", "must be a list"), ("name: [x]\n", "must be a str")):
        module.write_text(text)
        with pytest.raises(manifests.ManifestError, match=message):
            manifests.check_module_yml(module)


def test_export_cli_and_its_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["export", "hello_world", "--format", "cmake", "-o", str(tmp_path / "e"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["name"] == "hello_world_int8"
    for args, message in ((["--format", "cmake", "-o", str(tmp_path / "e")], "is not empty"),
                          (["--format", "cmake", "-o", str(tmp_path / "f"), "--board", "nope"], "unknown board"),
                          (["--format", "cmake", "-o", str(tmp_path / "g"), "--name", "1bad"], "not a valid C"),
                          (["--format", "scons", "-o", str(tmp_path / "h")], "Invalid value for '--format'")):
        res = runner.invoke(main, ["export", "hello_world", *args])
        assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "f").exists() and not (tmp_path / "g").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["e"]  # no staging folder left behind
