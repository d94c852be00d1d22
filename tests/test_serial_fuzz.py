"""Serial fuzz against the real firmware (kws on qemu-m4): 500 bursts of garbled, overlong, unbalanced
and partial commands, brackets and control bytes. Every reply line must parse with the host's
grammar (tinykit/device/protocol.py), the device's state must match a model of what the firmware
should have kept (`db print`, `tk-crc`, `name`, `tk-info`), and a final inference is bit-exact
with the tflite-micro runtime.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field

import pytest
from firmware_helpers import RawDevice

from tinykit import oracle
from tinykit.device import protocol
from tinykit.firmware.build import build_firmware
from tinykit.flash import get_flasher
from tinykit.models import reference_model

pytestmark = pytest.mark.qemu

BURSTS = 500
SEED = 14
CHECK_EVERY = 25  # bursts between state checks
CMD_MAX = 80  # characters the firmware keeps before '%' (TK_CMD_MAX)
MAX_TOKENS = 4
MODEL = reference_model("kws")


@dataclass
class RunnerModel:
    """What firmware/core/runner.c keeps of the `db` state, fed the same bytes (its parser in Python)."""

    input_bytes: int
    size: int = 0
    pos: int = 0
    buf: bytearray = field(default_factory=bytearray)
    pending: bytearray = field(default_factory=bytearray)
    too_long: bool = False

    def __post_init__(self) -> None:
        self.buf = bytearray(self.input_bytes)

    def feed(self, data: bytes) -> int:
        """Returns the number of commands completed (each answered by m-ready)."""
        done = 0
        for byte in data:
            if byte in b"\r\n":
                continue
            if byte != ord("%"):
                if len(self.pending) < CMD_MAX:
                    self.pending.append(ord("?") if byte == 0 else byte)
                else:
                    self.too_long = True
                continue
            if not self.too_long:
                self._dispatch(self.pending.decode("latin-1").split(" "))
            self.pending, self.too_long, done = bytearray(), False, done + 1
        return done

    def _dispatch(self, parts: list[str]) -> None:
        tokens = [t for t in parts if t]
        if len(tokens) > MAX_TOKENS or not tokens or tokens[0] != "db":
            return
        if len(tokens) == 3 and tokens[1] == "load":
            n = tokens[2]
            if n.isascii() and n.isdigit() and len(n) <= 9 and 0 < int(n) <= self.input_bytes:
                self.size, self.pos = int(n), 0
        elif len(tokens) == 2 and tokens[1] not in ("load", "print"):
            self._chunk(tokens[1])

    def _chunk(self, digits: str) -> None:
        if len(digits) % 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            return
        data = bytes.fromhex(digits)
        if self.pos >= self.size or len(data) > self.size - self.pos:
            return
        self.buf[self.pos:self.pos + len(data)] = data
        self.pos += len(data)


def _garbage(rng: random.Random, n: int) -> bytes:
    alphabet = b"[]{}()<>-_=+ ,.;:'\"\\/|?!@#$^&*~`\t\x00\x01\x07\x1b\x7f\x80\xc3\xa9\xff\r\nabcdefxyzDB0123456789"
    return bytes(rng.choice(alphabet) for _ in range(n))


def _command(rng: random.Random, model: RunnerModel) -> bytes:
    """One command of a burst, '%' included (or not: an unterminated fragment the next burst ends)."""
    kind = rng.choice(("valid", "valid", "load", "chunk", "chunk", "garbage", "overlong", "brackets", "args"))
    if kind == "valid":
        text = rng.choice(("name", "profile", "tk-info", "tk-crc", "db print", "help", "results", "timestamp",
                           "tk-cycles", "tk-out", "tk-layers", "infer 1 0", "tk-run"))
    elif kind == "load":
        text = "db load " + rng.choice((str(rng.randrange(1, model.input_bytes + 1)), "0", "-4", "x1",
                                        str(model.input_bytes + 1), "4294967296", "0001", "1234567890"))
    elif kind == "chunk":
        count = rng.choice((1, 2, 8, 31, 37))
        text = "db " + bytes(rng.randrange(256) for _ in range(count)).hex()
        if rng.random() < 0.3:
            at = rng.randrange(len(text) - 3) + 3
            text = text[:at] + rng.choice("g]x[ %") + text[at + 1:]
        if rng.random() < 0.2:
            text = text[:-1]  # odd number of digits
    elif kind == "garbage":
        return _garbage(rng, rng.randrange(1, 60)).replace(b"%", b"") + b"%"
    elif kind == "overlong":
        text = "db " + "ab" * rng.randrange(40, 120)
    elif kind == "brackets":
        text = rng.choice(("[", "]]]", "e-[", "m-ready", "]m-tk-out-0-[", "db [00]", "name]", "[tk-info]"))
    else:
        text = " ".join(rng.choice(("db", "load", "infer", "1", "print", "", "tk-run")) for _ in range(6))
    return text.encode("latin-1") + (b"%" if rng.random() > 0.03 else b"")


def _read_replies(dev: RawDevice, readies: int) -> list[str]:
    lines = []
    for _ in range(readies):
        lines += dev.until_ready(timeout=60)
    return lines


def _check_state(dev: RawDevice, model: RunnerModel) -> None:
    want = bytes(model.buf[:model.pos])
    printed = "".join(line.removeprefix("m-buffer-").replace("-", "") for line in dev.cmd("db print"))
    assert bytes.fromhex(printed) == want
    assert dev.cmd("tk-crc") == [f"m-tk-crc-[{zlib.crc32(want):08x}]"]
    assert dev.cmd("name") == ["m-name-dut-[tinykit]"]
    (info,) = dev.cmd("tk-info")
    fields = protocol.parse_info(protocol.parse_line(info).groups[0])
    assert fields["board"] == "qemu-m4" and fields["input_bytes"] == model.input_bytes


@pytest.fixture(scope="module")
def kws_firmware(tmp_path_factory):
    return build_firmware(MODEL, "qemu-m4", tmp_path_factory.mktemp("fw_kws")).dir


def test_serial_fuzz_keeps_grammar_state_and_results(kws_firmware) -> None:
    rng = random.Random(SEED)
    input_bytes = sum(s.nbytes for s in oracle.input_specs(MODEL))
    model = RunnerModel(input_bytes)
    with get_flasher("qemu-m4").flash(kws_firmware) as link:
        dev = RawDevice(link.url)
        assert all(protocol.parse_line(line) for line in dev.until_ready())
        kinds: dict[str, int] = {}
        for burst in range(BURSTS):
            data = b"".join(_command(rng, model) for _ in range(rng.randrange(1, 6)))
            dev.port.write(data)
            for line in _read_replies(dev, model.feed(data)):
                parsed = protocol.parse_line(line)
                assert parsed is not None and line.isascii() and line.isprintable(), \
                    f"burst {burst} {data!r}: unparsable reply {line!r}"
                kinds[parsed.kind] = kinds.get(parsed.kind, 0) + 1
            if burst % CHECK_EVERY == CHECK_EVERY - 1:
                dev.port.write(b"%")  # end any unterminated fragment (an empty or garbled command)
                _read_replies(dev, model.feed(b"%"))
                _check_state(dev, model)
        assert kinds.get("error", 0) > BURSTS // 2 and kinds.get("load_done", 0) > 0 and kinds.get("help", 0) > 0
        blob = oracle.random_inputs(MODEL, 1, seed=SEED)[0]
        dev.cmd("")  # clears whatever fragment the last burst left
        assert dev.load(blob)[-1] == "m-load-done"
        assert dev.cmd("tk-run", timeout=120) == ["m-tk-run-done"]
        (want,) = oracle.reference_outputs(MODEL, [blob])
        assert dev.outputs() == list(want)
        dev.close()
