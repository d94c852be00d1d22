"""Every command, walked through the mistakes a new user makes: an output that is a file where a
folder goes (or the reverse), an earlier artefact without --force, a folder that cannot be written,
--port for an emulated board, a Keras model where a .tflite goes, data whose inputs do not fit the
model, options that do not apply. Each answer is one `error:` line, exit 2, no traceback, and every
hint names only options the command (or the command it quotes) has.

Data-driven: a new command is covered by adding rows; `test_every_output_command_is_walked` fails
until a command with an output option has its rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tinykit.cli import main
from tinykit.models import reference_model

UNWRITABLE = "/proc/tinykit-cannot-write"  # a folder no one, root included, can create files in

# placeholders: {file} an existing file; {dir} a non-empty folder; {k_dir}/{t_dir}/{n_dir} folders
# named like a .keras/.tflite/.npz output; {k_file}/{t_file}/{n_file} existing outputs of those
# kinds; {ro} an unwritable folder; {keras} a small Keras model; {good}/{bad} .npz data sets whose
# inputs fit / do not fit it; {tflite} an int8 model; {wav} a file standing in for audio; {new} a
# path of the test's own that does not exist yet; {spec} a `tinykit check` budget spec.
OUTPUT_MISTAKES = {
    # command -> (args before -o, the kind of output: "dir" or the suffix of the file it writes)
    "generate": ("generate {tflite}", "dir"),
    "export": ("export {tflite} --format cmake", "dir"),
    "build": ("build {tflite}", "dir"),
    "run": ("run {tflite}", "dir"),
    "bench": ("bench --model hello_world", "dir"),
    "fit": ("fit {keras} --board qemu-m4 --data {good}", "dir"),
    "data synth-kws": ("data synth-kws", "dir"),
    "lab kws": ("lab kws", "dir"),
    "stream": ("stream {wav} --model {tflite}", "dir"),
    "train": ("train --data {good}", ".keras"),
    "distill": ("distill --teacher {keras} --data {good}", ".keras"),
    "prune": ("prune {keras} --data {good}", ".keras"),
    "quantize": ("quantize {keras} --data {good}", ".tflite"),
    "lab testset": ("lab testset {tflite} --data {good}", ".npz"),
    "measure": ("measure --board qemu-m4 --port socket://127.0.0.1:9", ".json"),
    "check": ("check {spec}", ".json"),
    "data get": ("data get speech-commands --archive {file}", "dir"),
    "lab sentence": ("lab sentence --words yes", ".wav"),
}
# Commands whose -o is a folder they add to (so a non-empty one is no mistake): file and unwritable rows.
ADDS_TO = {"data record": "data record --words yes --speaker ada --countdown 0 --yes"}

_SLOT = {".keras": "k", ".tflite": "t", ".npz": "n", ".json": "j", ".wav": "w"}


def _output_rows():
    for command, (args, kind) in OUTPUT_MISTAKES.items():
        if kind == "dir":
            yield f"{command}: output is a file", f"{args} -o {{file}}", "is a file; a folder is written there"
            yield f"{command}: output folder not empty", f"{args} -o {{dir}}", "is not empty"
            yield f"{command}: unwritable", f"{args} -o {{ro}}/out", "cannot write in"
        else:
            slot = _SLOT[kind]
            yield f"{command}: output is a folder", f"{args} -o {{{slot}_dir}}", "is a folder; a file is written"
            yield f"{command}: output exists", f"{args} -o {{{slot}_file}}", "exists"
            yield f"{command}: unwritable", f"{args} -o {{ro}}/out{kind}", "cannot write in"
    for command, args in ADDS_TO.items():
        yield f"{command}: output is a file", f"{args} -o {{file}}", "is a file; a folder is written there"
        yield f"{command}: unwritable", f"{args} -o {{ro}}/out", "cannot write in"


# (name, command line, what the error line says, a warning line that must come first or None)
OTHER_MISTAKES = [
    ("run: --port on qemu", "run {tflite} -o {new} --port /dev/ttyACM0", "qemu-m4 is emulated", None),
    ("stream: --port on qemu", "stream {wav} --model {tflite} -o {new} --port /dev/ttyACM0", "is emulated", None),
    ("flash: --port on qemu", "flash {dir} --board qemu-m4 --port /dev/ttyACM0", "is emulated", None),
    ("check: --port on qemu", "check {spec} --board qemu-m4 --port /dev/ttyACM0", "is emulated", None),
    ("check: junit output is a folder", "check {spec} --junit {j_dir}", "is a folder", None),
    ("build: a Keras model", "build {keras} -o {new}", "is a Keras model", None),
    ("run: a Keras model", "run {keras} -o {new}", "is a Keras model", None),
    ("generate: a Keras model", "generate {keras} -o {new}", "is a Keras model", None),
    ("quantize: data of another shape", "quantize {keras} --data {bad} -o {new}.tflite", "takes [8, 8, 1]", None),
    ("prune: data of another shape", "prune {keras} --data {bad} -o {new}.keras", "takes [8, 8, 1]", None),
    ("fit: data of another shape", "fit {keras} --board qemu-m4 --data {bad} -o {new}", "takes [8, 8, 1]", None),
    ("distill: data of another shape", "distill --teacher {keras} --data {bad} -o {new}.keras", "takes [8, 8, 1]",
     None),
    ("inspect: data of another shape", "inspect {keras} --data {bad}", "takes [8, 8, 1]", None),
    ("quantize: --qat-epochs without --qat", "quantize {keras} --data {bad} -o {new}.tflite --qat-epochs 5",
     "takes [8, 8, 1]", "--qat-epochs is ignored"),
    ("prune: --ratio with --target-macs", "prune {keras} --data {bad} -o {new}.keras --ratio 0.3 --target-macs 0.5",
     "takes [8, 8, 1]", "--ratio is ignored"),
    ("measure: --count with --inputs", "measure --board qemu-m4 --port socket://127.0.0.1:9 --inputs {file} "
     "--count 5 -o {dir}", "is a folder", "--count is ignored"),
    ("stream: --threshold with --build", "stream {wav} --build {dir} --threshold 0.5 --port /dev/ttyACM0",
     "is emulated", "--threshold is ignored"),
    ("build: unknown option", "build {tflite} -o {new} --bogus", "No such option", None),
    ("unknown command", "frobnicate", "No such command", None),
]

ROWS = [pytest.param(cmd, frag, None, id=name) for name, cmd, frag in _output_rows()]
ROWS += [pytest.param(cmd, frag, warn, id=name) for name, cmd, frag, warn in OTHER_MISTAKES]


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    import tensorflow as tf

    tmp = tmp_path_factory.mktemp("cli_mistakes")
    model = tf.keras.Sequential([tf.keras.Input((8, 8, 1)), tf.keras.layers.Conv2D(2, 3),
                                 tf.keras.layers.Flatten(), tf.keras.layers.Dense(3, activation="softmax")])
    model.save(tmp / "tiny.keras")
    rng = np.random.default_rng(0)
    np.savez(tmp / "good.npz", x=rng.normal(size=(30, 8, 8, 1)).astype(np.float32), y=rng.integers(0, 3, 30))
    np.savez(tmp / "bad.npz", x=rng.normal(size=(30, 10)).astype(np.float32), y=rng.integers(0, 3, 30))
    (tmp / "full").mkdir()
    (tmp / "full" / "earlier.txt").write_text("an earlier result\n")
    values = {"file": tmp / "existing.txt", "dir": tmp / "full", "ro": Path(UNWRITABLE),
              "keras": tmp / "tiny.keras", "good": tmp / "good.npz", "bad": tmp / "bad.npz",
              "tflite": reference_model("hello_world"), "wav": tmp / "existing.txt"}
    values["file"].write_text("not yours to overwrite\n")
    values["spec"] = tmp / "budget.yaml"
    values["spec"].write_text(f"checks:\n  - model: {values['tflite']}\n    boards: [qemu-m4]\n"
                              "    budget: {bit_exact: true}\n")
    for suffix, slot in _SLOT.items():
        (tmp / f"folder{suffix}").mkdir()
        (tmp / f"earlier{suffix}").write_text("an earlier artefact\n")
        values[f"{slot}_dir"], values[f"{slot}_file"] = tmp / f"folder{suffix}", tmp / f"earlier{suffix}"
    return {k: str(v) for k, v in values.items()}


@pytest.mark.parametrize(("template", "fragment", "warning"), ROWS)
def test_mistake_gives_one_error_line(places: dict[str, str], template: str, fragment: str,
                                      warning: str | None, tmp_path: Path) -> None:
    args = template.format(**{**places, "new": str(tmp_path / "new")}).split()
    before = {p: sorted(Path(p).iterdir()) if Path(p).is_dir() else Path(p).read_bytes()
              for p in (places["file"], places["dir"])}
    result = CliRunner().invoke(main, args)
    output = result.output
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output and "Error:" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and fragment in errors[0], output
    if warning is not None:
        assert any(line.startswith("warning:") and warning in line for line in output.splitlines()), output
    for line in output.splitlines():
        if line.startswith("hint:"):
            _check_hint_options(args, line)
    after = {p: sorted(Path(p).iterdir()) if Path(p).is_dir() else Path(p).read_bytes() for p in before}
    assert after == before, "a refused command touched an earlier output"


def _command_options(path: list[str]) -> set[str]:
    """Every option spelling of the command ``tinykit PATH...`` (and of the group itself)."""
    import click

    command, options = main, {opt for p in main.params for opt in p.opts}
    for name in path:
        if not isinstance(command, click.Group) or name not in command.commands:
            break
        command = command.commands[name]
        options |= {opt for p in command.params for opt in [*p.opts, *p.secondary_opts]}
    return options | {"--help", "-h"}


def _check_hint_options(args: list[str], hint: str) -> None:
    """Options in a quoted `tinykit CMD ...` belong to CMD; any other option to this command."""
    for snippet in re.findall(r"`tinykit ([^`]*)`", hint):
        own = _command_options([w for w in snippet.split() if not w.startswith("-")][:2])
        for option in re.findall(r"(?<![\w-])--?[a-z][\w-]*", snippet):
            assert option in own, f"hint quotes `tinykit {snippet}`, which has no option {option}"
    rest = re.sub(r"`tinykit [^`]*`", "", hint)
    own = _command_options([a for a in args if not a.startswith("-")][:2])
    for option in re.findall(r"(?<![\w-])--[a-z][\w-]*", rest):
        assert option in own, f"hint {hint!r} names {option}, which `tinykit {' '.join(args[:2])}` does not have"


def _walk(group, prefix=()):
    import click

    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _walk(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), command


def test_every_output_command_is_walked() -> None:
    """A command that writes an output (-o) must have its rows above, and one that takes --port a
    row giving it an emulated board (measure excepted: it talks to a running QEMU by its port)."""
    writes = {name for name, cmd in _walk(main) if any("-o" in p.opts for p in cmd.params)}
    walked = set(OUTPUT_MISTAKES) | set(ADDS_TO)
    assert writes == walked, f"add rows for {sorted(writes ^ walked)}"
    ports = {name for name, cmd in _walk(main) if any("--port" in p.opts for p in cmd.params)}
    walked = {name.split(":")[0] for name, *_ in OTHER_MISTAKES if name.endswith("--port on qemu")}
    assert ports - {"measure"} == walked, f"add --port rows for {sorted(ports - {'measure'} - walked)}"


@pytest.mark.parametrize("command", sorted(OUTPUT_MISTAKES))
def test_overwriting_commands_have_force(command: str) -> None:
    options = _command_options(command.split())
    assert "--force" in options


@pytest.mark.parametrize(("marker", "others"), [("results.json", []), ("bench.json", ["kws/firmware.elf"])])
def test_an_earlier_run_folder_is_reused(tmp_path: Path, marker: str, others: list[str]) -> None:
    """`tinykit run` / `bench` re-run into their own earlier folder (its record is there); a folder
    of anything else stays refused without --force."""
    from tinykit.errors import OutputPathError
    from tinykit.files import check_output_dir

    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for name in (marker, *others):
        (ours / name).parent.mkdir(parents=True, exist_ok=True)
        (ours / name).write_text("{}")
    (theirs / "notes.txt").parent.mkdir()
    (theirs / "notes.txt").write_text("mine")
    assert check_output_dir(ours, reuse_marker=marker) == ours
    with pytest.raises(OutputPathError, match="is not empty"):
        check_output_dir(theirs, reuse_marker=marker)
    assert check_output_dir(theirs, force=True, reuse_marker=marker) == theirs
