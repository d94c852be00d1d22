"""pytest plugin: test a model on a board (emulated, local, or a labgrid place) from a team's own tests.

Registered through the ``pytest11`` entry point ``tinykit``: installing tinykit is enough. A test asks
for ``tinykit_device``; the plugin builds the firmware of ``tinykit_model`` once (cached by model
sha256 + board + tinykit version), puts it on each board given with ``--tinykit-board`` (or each
``--tinykit-place``), and hands the test a device whose helpers assert bit-exactness, a latency budget
and an accuracy floor. Every figure is recorded with ``record_property`` (so ``--junitxml`` carries
it), gathered in a table at the end, and in one JSON with ``--tinykit-results FILE``.

Several boards run every test once per board; with pytest-xdist, ``-n N --dist loadgroup`` keeps
each board's tests on one worker (one QEMU, one port, one place per board).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tinykit.hil.target import Target, place_target

if TYPE_CHECKING:  # the session stack (numpy, the oracle) loads only when a test asks for a device
    from tinykit.hil.session import BoardSession, Inference

PROPERTY_PREFIX = "tinykit."


# -- options ---------------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tinykit", "tinykit hardware-in-the-loop")
    group.addoption("--tinykit-board", action="append", default=[], metavar="ID[,ID...]",
                    help="board(s) to test on (repeatable or comma-separated), e.g. qemu-m4")
    group.addoption("--tinykit-port", default=None, metavar="URL",
                    help="serial port of the (single) real board: /dev/ttyACM0, socket://, rfc2217://")
    group.addoption("--tinykit-place", action="append", default=[], metavar="[BOARD=]PLACE",
                    help="labgrid place(s) to run on; acquired for the session, released after")
    group.addoption("--tinykit-coordinator", default=None, metavar="HOST[:PORT]",
                    help="labgrid coordinator (default: $LG_COORDINATOR)")
    group.addoption("--tinykit-model", default=None, metavar="MODEL.tflite",
                    help="model under test (else the tinykit_model fixture or the tinykit_model ini value)")
    group.addoption("--tinykit-results", default=None, metavar="FILE", help="write every figure as one JSON")
    parser.addini("tinykit_model", "model under test (path relative to the rootdir)", default="")
    parser.addini("tinykit_board", "default board(s) when --tinykit-board is not given", type="args", default=[])


def targets(config: pytest.Config) -> list[Target]:
    import os

    boards = [b for arg in config.getoption("--tinykit-board") for b in arg.split(",") if b] or \
        list(config.getini("tinykit_board"))
    coordinator = config.getoption("--tinykit-coordinator") or os.environ.get("LG_COORDINATOR")
    places = config.getoption("--tinykit-place")
    if places:
        try:
            return [place_target(text, boards, coordinator) for text in places]
        except ValueError as err:
            raise pytest.UsageError(f"--tinykit-place {err}: write BOARD=PLACE or give one --tinykit-board") from None
    port = config.getoption("--tinykit-port")
    if port and len(boards) != 1:
        raise pytest.UsageError("--tinykit-port needs exactly one --tinykit-board")
    return [Target(board=b, port=port) for b in boards]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One run of each tinykit test per board or place; each board's tests grouped for xdist loadgroup."""
    if "tinykit_target" not in metafunc.fixturenames:
        return
    found = targets(metafunc.config)
    if not found:
        return  # the fixture fails with the message that says what to pass
    metafunc.parametrize("tinykit_target", found, ids=[t.label for t in found], indirect=True, scope="session")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("tinykit_target") if callspec else None
        if isinstance(target, Target):
            item.add_marker(pytest.mark.xdist_group(name=f"tinykit-{target.label}"))


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tinykit_target(request: pytest.FixtureRequest) -> Target:
    """The board (and where it is) this test runs on."""
    if not hasattr(request, "param"):
        pytest.fail("no board to test on: pass --tinykit-board ID (or --tinykit-place), "
                    "or set tinykit_board in the pytest ini file", pytrace=False)
    return request.param


@pytest.fixture(scope="session")
def tinykit_model(request: pytest.FixtureRequest) -> Path:
    """The model under test; override this fixture, or pass --tinykit-model, or set tinykit_model in ini."""
    value = request.config.getoption("--tinykit-model") or request.config.getini("tinykit_model")
    if not value:
        pytest.fail("no model to test: define a tinykit_model fixture, pass --tinykit-model, "
                    "or set tinykit_model in the pytest ini file", pytrace=False)
    path = Path(value)
    return path if path.is_absolute() else Path(request.config.rootpath) / path


@pytest.fixture(scope="session")
def tinykit_session(tinykit_model: Path, tinykit_target: Target) -> Iterator[BoardSession]:
    """The model's firmware built (cached), flashed and connected on the board, for the whole session."""
    from tinykit.errors import TinykitError
    from tinykit.hil.session import open_session

    try:
        with open_session(tinykit_model, tinykit_target) as session:
            yield session
    except TinykitError as err:
        pytest.fail(f"tinykit: {err.message}" + (f" ({err.hint})" if err.hint else ""), pytrace=False)


@pytest.fixture
def tinykit_device(tinykit_session: BoardSession, record_property: Callable[[str, object], None]) -> HilDevice:
    """The device for this test: inferences, figures and the assertions, each figure recorded."""
    device = HilDevice(tinykit_session, record_property)
    device.record(board=tinykit_session.target.label, firmware_sha256=tinykit_session.firmware.image_sha256,
                  model_sha256=tinykit_session.firmware.model_sha256)
    return device


class HilDevice:
    """What a test uses; every figure a method produces is recorded on the test's JUnit case."""

    def __init__(self, session: BoardSession, record_property: Callable[[str, object], None]) -> None:
        self.session = session
        self._record_property = record_property
        self.figures: dict[str, Any] = {}

    @property
    def board(self) -> str:
        return self.session.board.id

    def record(self, **figures: Any) -> None:
        for name, value in figures.items():
            self.figures[name] = value
            self._record_property(PROPERTY_PREFIX + name, value)

    def infer(self, data: bytes) -> Inference:
        """One inference on ``data`` (the model's input bytes): outputs and instructions/cycles."""
        result = self.session.infer(data)
        self.record(**{f"{result.unit}_last": result.count})
        return result

    def reference(self, data: bytes) -> list[bytes]:
        """The tflite-micro reference outputs for ``data`` (what the board must produce, byte for byte)."""
        return self.session.reference(data)

    @property
    def input_bytes(self) -> int:
        from tinykit import oracle

        return sum(s.nbytes for s in oracle.input_specs(self.session.firmware.model))

    def random_inputs(self, count: int) -> list[bytes]:
        """``count`` random inputs (fixed seed), as `tinykit measure` uses."""
        return self.session.random_inputs(count)

    def memory(self) -> dict[str, int | None]:
        """flash/RAM of the build, arena, stack reserved and stack used (painted) on the device."""
        figures = self.session.memory()
        self.record(**figures)
        return figures

    def measure(self, count: int = 5, inputs: list[bytes] | None = None, labels: list[int] | None = None):
        result = self.session.measure(inputs=inputs, labels=labels, count=count)
        key = f"{self.session.unit}_per_inference"  # instructions on emulated boards, cycles on real ones
        self.record(**{key: result.get(key),
                       "mismatched_bytes": result["mismatched_bytes"],
                       "compared_bytes": result["validation"].get("compared_bytes"),
                       "flash_bytes": result["flash_bytes"], "ram_bytes": result["ram_bytes"],
                       "stack_used_bytes": result["stack_used_bytes"], "arena_bytes": result["arena_bytes"]})
        if not self.session.board.emulated and result.get("latency_us") is not None:
            self.record(latency_us=result["latency_us"])
        return result

    # -- assertions ----------------------------------------------------------------------------
    def assert_bit_exact(self, count: int = 5, inputs: list[bytes] | None = None) -> dict[str, Any]:
        """Every output byte equals the tflite-micro reference's, for ``inputs`` or ``count`` random ones."""
        result = self.measure(count=count, inputs=inputs)
        v = result["validation"]
        assert result["mismatched_bytes"] == 0, (
            f"{v['mismatched_bytes']} of {v['compared_bytes']} output bytes differ from the reference on "
            f"{self.session.target.label} (inputs {v['mismatched_inputs']}, max |diff| {v['max_abs_diff']})")
        return result

    def assert_latency(self, *, max_instructions: int | None = None, max_cycles: int | None = None,
                       max_us: float | None = None, count: int = 3) -> dict[str, Any]:
        """The median inference is within the budget (instructions on emulated boards, cycles/µs on real)."""
        from tinykit.hil.budget import Budget, judge

        result = self.measure(count=count)
        budget = Budget(max_instructions=max_instructions, max_cycles=max_cycles, max_us=max_us, bit_exact=False)
        self._judge(judge(budget, result, self.session.target.label))
        return result

    def assert_memory(self, *, max_flash_bytes: int | None = None, max_ram_bytes: int | None = None,
                      max_stack_bytes: int | None = None) -> dict[str, Any]:
        from tinykit.hil.budget import Budget, judge

        figures = self.memory()
        budget = Budget(max_flash_bytes=max_flash_bytes, max_ram_bytes=max_ram_bytes,
                        max_stack_bytes=max_stack_bytes, bit_exact=False)
        self._judge(judge(budget, figures, self.session.target.label))
        return figures

    def assert_accuracy(self, dataset: Path | str, min_accuracy: float) -> float:
        """Top-1 accuracy on the device over a dataset folder (class sub-folders of inputs) >= the floor."""
        from tinykit import oracle
        from tinykit.hil.dataset import load_labelled_inputs

        input_bytes = sum(s.nbytes for s in oracle.input_specs(self.session.firmware.model))
        data = load_labelled_inputs(dataset, input_bytes)
        result = self.measure(inputs=data.inputs, labels=data.labels)
        self.record(accuracy=result["accuracy"], host_accuracy=result["host_accuracy"],
                    dataset_inputs=len(data.inputs))
        assert result["accuracy"] >= min_accuracy, (
            f"accuracy {result['accuracy']:.4f} on {len(data.inputs)} inputs of {dataset} is below "
            f"the floor {min_accuracy} on {self.session.target.label}")
        return result["accuracy"]

    @staticmethod
    def _judge(verdicts) -> None:
        failed = [v.describe() for v in verdicts if not v.ok]
        assert not failed, "regressed " + "; ".join(failed)


# -- reporting -------------------------------------------------------------------------------------
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Under xdist the controller sees the workers' reports: gather their figures here."""
    if report.when != "teardown":
        return
    figures = {k[len(PROPERTY_PREFIX):]: v for k, v in report.user_properties if k.startswith(PROPERTY_PREFIX)}
    if figures:
        _collected.append({"test": report.nodeid, "outcome": report.outcome, **figures})


_collected: list[dict[str, Any]] = []


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    rows = _merged()
    if not rows:
        return
    terminalreporter.section("tinykit figures")
    for row in rows:
        shown = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("test", "model_sha256", "outcome"))
        terminalreporter.write_line(f"{row['test']}: {shown}")
    path = config.getoption("--tinykit-results")
    if path:
        from tinykit.files import write_json
        from tinykit.report import provenance

        write_json(Path(path), {**provenance(argv=["pytest", *config.invocation_params.args]), "results": rows})
        terminalreporter.write_line(f"tinykit results: {path}")


def _merged() -> list[dict[str, Any]]:
    by_test: dict[str, dict[str, Any]] = {}
    for row in _collected:
        by_test.setdefault(row["test"], {}).update(row)
    return list(by_test.values())
