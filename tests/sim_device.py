"""A DEVICE SIMULATOR for tests: speaks the MLPerf Tiny / tinykit serial protocol on a local socket.

This is not firmware and measures nothing; it stands in for a board so the host client, `measure`
and their failure paths can be tested without QEMU. Outputs come from the tflite-micro reference
runtime (when given a model), so a faithful run validates with zero mismatched bytes.

Fault injection (:class:`Faults`) maps a command name (first token, or ``"db load"``) to how many
of its first occurrences misbehave: ``silent`` (no reply: a timeout), ``garble`` (the first reply
line becomes noise), ``reset`` (the device reboots mid-command, re-printing its boot lines and
losing its state), ``drop_ready`` (the reply lacks `m-ready`), ``late`` (the reply is sent only
after ``late_s`` seconds, and every later one after it: a busy device). ``wrong_output`` flips one
output byte of every inference; ``ignore_reset`` makes `tk-reset` keep a stateful model's state.
The empty command (a lone ``%``) is named ``""``.

Run standalone: ``python tests/sim_device.py --model tinykit/models/hello_world_int8.tflite``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinykit.device.protocol import MAX_COMMAND_CHARS, format_info

BOOT_LINES = ["m-timestamp-mode-performance", "m-lap-us-0", "m-init-done", "m-ready"]
SIM_CYCLES = 123_456  # "cycles" of one simulated inference (before the input-dependent jitter)
SIM_LAYERS = [("FULLY_CONNECTED", 60_000), ("FULLY_CONNECTED", 40_000), ("FULLY_CONNECTED", 23_456)]


@dataclass
class Faults:
    silent: dict[str, int] = field(default_factory=dict)
    garble: dict[str, int] = field(default_factory=dict)
    reset: dict[str, int] = field(default_factory=dict)
    drop_ready: dict[str, int] = field(default_factory=dict)
    late: dict[str, int] = field(default_factory=dict)
    late_s: float = 1.0
    wrong_output: bool = False
    ignore_reset: bool = False  # `tk-reset` answers but keeps the state (a broken firmware)

    def take(self, kind: str, name: str) -> bool:
        """True (and one fewer left) if command ``name`` should suffer fault ``kind`` now."""
        table: dict[str, int] = getattr(self, kind)
        if table.get(name, 0) > 0:
            table[name] -= 1
            return True
        return False


class SimDevice:
    """The protocol engine: one command string in, reply lines out (state in between)."""

    def __init__(self, model_path: str | Path | None = None, *, board: str = "qemu-m4",
                 input_bytes: int = 1, faults: Faults | None = None) -> None:
        self.board = board
        self.faults = faults or Faults()
        self.model_path = Path(model_path) if model_path else None
        self.commands: list[str] = []  # every command received, for assertions
        self.delay_s = 0.0  # how long the server holds the reply just computed (a `late` fault)
        self.sha = "0" * 64
        self.out_specs: list[tuple[int, float, int]] = [(4, 1.0, 0)]  # (bytes, scale, zero point)
        if self.model_path:
            self._read_model()
        else:
            self.input_bytes = input_bytes
            self.input_sizes = [input_bytes]
        self._reset_state()

    def _read_model(self) -> None:
        from tflite_micro.python.tflite_micro import runtime

        from tinykit import oracle

        data = self.model_path.read_bytes()
        self.sha = oracle.model_sha256(self.model_path)
        self.input_sizes = [s.nbytes for s in oracle.input_specs(self.model_path)]
        self.input_bytes = sum(self.input_sizes)
        interp = runtime.Interpreter.from_bytes(data)
        specs = oracle.output_specs(self.model_path)
        self.out_specs = []
        for i, spec in enumerate(specs):
            q = interp.get_output_details(i)["quantization_parameters"]
            scale = float(q["scales"][0]) if len(q["scales"]) else 1.0
            zp = int(q["zero_points"][0]) if len(q["zero_points"]) else 0
            self.out_specs.append((spec.nbytes, scale, zp))

    def _reset_state(self) -> None:
        self.expected = 0
        self.base = 0  # where the current load writes: 0 (`db load`) or input I's slot (`tk-load I N`)
        self.buffer = bytearray()  # the bytes of the current load
        self.data = bytearray(self.input_bytes)  # every input back to back
        self.loaded = [False] * len(self.input_sizes)
        self.outputs: list[bytes] = [bytes(n) for n, _, _ in self.out_specs]
        self.last_cycles = 0
        self.sequence: list[bytes] = []  # inputs since the last reset (a stateful model's state)

    # -- dispatch -------------------------------------------------------------------------------
    def handle(self, cmd: str) -> list[str]:
        self.commands.append(cmd)
        tokens = cmd.split(" ")
        name = "db load" if tokens[:2] == ["db", "load"] else tokens[0]
        self.delay_s = self.faults.late_s if self.faults.take("late", name) else 0.0
        if self.faults.take("silent", name):
            return []
        if self.faults.take("reset", name):
            self._reset_state()
            return list(BOOT_LINES)
        lines = self._reply(tokens) if len(cmd) <= MAX_COMMAND_CHARS else ["e-[Command too long]"]
        if self.faults.take("garble", name):
            lines = ["m-r\x07su#ts-[\xff" + (lines[0][3:] if lines else "")]
        if not self.faults.take("drop_ready", name):
            lines.append("m-ready")
        return lines

    def _reply(self, tokens: list[str]) -> list[str]:
        handler = {
            "name": lambda: [f"m-name-dut-[tinykit simulator {self.board}]"],
            "profile": lambda: ["m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[sim01]"],
            "db": lambda: self._db(tokens[1:]),
            "infer": lambda: self._infer(tokens[1:]),
            "results": lambda: [self._results_line()],
            "timestamp": lambda: ["m-lap-us-1000"],
            "tk-out": lambda: self._tk_out(tokens[1:]),
            "tk-load": lambda: self._tk_load(tokens[1:]),
            "tk-crc": lambda: [f"m-tk-crc-[{zlib.crc32(bytes(self.buffer)):08x}]"],
            "tk-cycles": lambda: [f"m-tk-cycles-[{self.last_cycles}]"],
            "tk-layers": lambda: [f"m-tk-layer-{i}-[{n},{c}]" for i, (n, c) in enumerate(SIM_LAYERS)],
            "tk-info": self._info,
            "tk-run": self._tk_run,
            "tk-reset": self._tk_reset,
            "tk-sync": lambda: self._tk_sync(tokens[1:]),
            "": lambda: ["e-[Empty command]"],
        }.get(tokens[0])
        return handler() if handler else [f"e-[Unknown command: {sanitized(tokens[0])}]"]

    @staticmethod
    def _tk_sync(args: list[str]) -> list[str]:
        if len(args) != 1:
            return ["e-[Command 'tk-sync' requires one token]"]
        return [f"m-tk-sync-[{args[0]}]"]

    def _clock_hz(self) -> int:
        """The clock the board file states (a real firmware reports its own TK_CLOCK_HZ)."""
        from tinykit.errors import BoardError
        from tinykit.targets.boards import load_board

        try:
            return load_board(self.board).clock_hz
        except BoardError:
            return 25_000_000

    def _info(self) -> list[str]:
        info = {"board": self.board, "model": self.sha[:16], "arena": 1024, "stack": 4096,
                "stack_used": 812, "counter": "systick", "clock": self._clock_hz(), "emulated": 1,
                "inputs": 1, "outputs": len(self.out_specs), "input_bytes": self.input_bytes}
        return [f"m-tk-info-[{format_info(info)}]"]

    def _db(self, args: list[str]) -> list[str]:
        if args[:1] == ["load"]:
            n = int(args[1]) if len(args) > 1 and args[1].isdigit() else 0
            if n <= 0:
                return ["e-[Invalid number of bytes]"]
            self.expected, self.buffer, self.base = n, bytearray(), 0
            self.loaded = [False] * len(self.input_sizes)
            return [f"m-[Expecting {n} bytes]"]
        if args[:1] == ["print"]:
            return [f"m-buffer-{'-'.join(f'{b:02x}' for b in self.buffer[i:i + 8])}"
                    for i in range(0, len(self.buffer), 8)]
        try:
            data = bytes.fromhex(args[0])
        except (ValueError, IndexError):
            return ["e-[Invalid hex data]"]
        self.buffer += data[: self.expected - len(self.buffer)]
        self.data[self.base:self.base + len(self.buffer)] = self.buffer
        if len(self.buffer) < self.expected:
            return []
        starts = np.cumsum([0, *self.input_sizes])
        for i, (a, b) in enumerate(itertools.pairwise(starts)):
            self.loaded[i] = self.loaded[i] or (self.base <= a and b <= self.base + self.expected)
        return ["m-load-done"]

    def _tk_load(self, args: list[str]) -> list[str]:
        if len(args) != 2 or not all(a.isdigit() for a in args) or int(args[0]) >= len(self.input_sizes):
            return ["e-[No such input]"]
        index, n = int(args[0]), int(args[1])
        if n != self.input_sizes[index]:
            return [f"e-[Input {index} has {self.input_sizes[index]} bytes]"]
        self.expected, self.buffer, self.base = n, bytearray(), sum(self.input_sizes[:index])
        return [f"m-[Expecting {n} bytes]"]

    def _tk_out(self, args: list[str]) -> list[str]:
        if args and (not args[0].isdigit() or int(args[0]) >= len(self.outputs)):
            return [f"e-[No such output: {args[0]}]"]
        wanted = [int(args[0])] if args else range(len(self.outputs))
        return [f"m-tk-out-{i}-[{self.outputs[i].hex()}]" for i in wanted]

    def _invoke(self) -> None:
        data = bytes(self.data)
        if self.model_path and all(self.loaded):
            from tinykit import oracle

            # a stateful model's output depends on every input since the last reset
            self.sequence = [*self.sequence, data] if oracle.is_stateful(self.model_path) else [data]
            self.outputs = oracle.reference_outputs(self.model_path, self.sequence)[-1]
        else:
            self.outputs = [bytes((zlib.crc32(data) + i) % 256 for i in range(n)) for n, _, _ in self.out_specs]
        if self.faults.wrong_output:
            self.outputs[0] = bytes([self.outputs[0][0] ^ 0x01]) + self.outputs[0][1:]
        self.last_cycles = SIM_CYCLES + zlib.crc32(data) % 100

    def _tk_run(self) -> list[str]:
        if not all(self.loaded):
            return ["e-[No input loaded]"]
        self._invoke()
        return ["m-tk-run-done"]

    def _tk_reset(self) -> list[str]:
        if not self.faults.ignore_reset:
            self.sequence = []
        return ["m-tk-reset-done"]

    def _results_line(self) -> str:
        _n, scale, zp = self.out_specs[0]
        values = np.frombuffer(self.outputs[0], dtype=np.int8)
        return "m-results-[" + ",".join(f"{scale * (int(v) - zp):.3f}" for v in values) + "]"

    def _infer(self, args: list[str]) -> list[str]:
        n = int(args[0]) if args else 1
        w = int(args[1]) if len(args) > 1 else 10
        self._invoke()
        return [f"m-warmup-start-{w}", "m-warmup-done", f"m-infer-start-{n}", "m-lap-us-1000",
                f"m-lap-us-{1000 + n * 5}", "m-infer-done", self._results_line()]


class SimServer:
    """Serves one :class:`SimDevice` on 127.0.0.1 (pyserial URL ``socket://127.0.0.1:PORT``)."""

    def __init__(self, device: SimDevice, boot_on_connect: bool = True, boot_delay_s: float = 0.0) -> None:
        self.device = device
        self.boot_on_connect = boot_on_connect
        # A board that reboots when the port opens: input sent during the delay is lost.
        self.boot_delay_s = boot_delay_s
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(1)
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> SimServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            with conn:
                self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        booted = time.monotonic() + self.boot_delay_s
        while time.monotonic() < booted and not self._stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                conn.recv(4096)
        if self.boot_on_connect:
            self._send(conn, BOOT_LINES)
        pending = b""
        while not self._stop.is_set():
            try:
                data = conn.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            pending += data
            while b"%" in pending:
                cmd, _, pending = pending.partition(b"%")
                lines = self.device.handle(cmd.decode("ascii", errors="replace"))
                self._stop.wait(self.device.delay_s)
                self._send(conn, lines)

    @staticmethod
    def _send(conn: socket.socket, lines: list[str]) -> None:
        with contextlib.suppress(OSError):
            conn.sendall("".join(f"{line}\r\n" for line in lines).encode("latin-1"))


class SimPty:
    """Serves one :class:`SimDevice` on a pseudo-terminal: the client opens ``url`` like /dev/ttyACM0."""

    def __init__(self, device: SimDevice) -> None:
        import os
        import tty

        self.device = device
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.url = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SimPty:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import os

        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self._master)
        os.close(self._slave)

    def _serve(self) -> None:
        import os
        import select

        os.write(self._master, "".join(f"{x}\r\n" for x in BOOT_LINES).encode())
        pending = b""
        while not self._stop.is_set():
            if not select.select([self._master], [], [], 0.1)[0]:
                continue
            try:
                pending += os.read(self._master, 4096)
            except OSError:
                return
            while b"%" in pending:
                cmd, _, pending = pending.partition(b"%")
                lines = self.device.handle(cmd.decode("ascii", errors="replace"))
                self._stop.wait(self.device.delay_s)
                os.write(self._master, "".join(f"{x}\r\n" for x in lines).encode("latin-1"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="tinykit DEVICE SIMULATOR (not firmware)")
    parser.add_argument("--model")
    parser.add_argument("--board", default="qemu-m4")
    args = parser.parse_args()
    with SimServer(SimDevice(args.model, board=args.board)) as server:
        print(f"simulated device at {server.url} (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


def sanitized(text: str) -> str:
    """What the firmware echoes of user text (tk_put_sanitized): '[', ']' and control bytes as '?'."""
    return "".join(c if " " <= c <= "~" and c not in "[]" else "?" for c in text)
