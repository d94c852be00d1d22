"""docs/labs/kws.md as a script: its shell blocks in order, and the output each one promises.

A ```sh block is a step. The line before it may say ``<!-- handout-test: skip: REASON -->`` for a
step this machine cannot take (the set-up the test already runs in, a 2.3 GB download, a
microphone, a real board); the reason must start with one of :data:`SKIP_REASONS`. A ```text
block right after a step is what the step prints: every line of it must appear in the step's
output, with ``…`` standing for text that varies (timings, addresses). So the handout cannot quote
a figure the tool does not print.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

HANDOUT = Path(__file__).resolve().parents[1] / "docs" / "labs" / "kws.md"
SKIP_REASONS = ("set-up", "download", "microphone", "real board")
_SKIP = re.compile(r"<!--\s*handout-test:\s*skip:\s*(.+?)\s*-->")
_FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass
class Step:
    script: str
    line: int
    skip: str | None = None
    expected: list[str] = field(default_factory=list)

    def commands(self) -> list[list[str]]:
        """The step's command lines (continuations joined), split as the shell would."""
        joined = re.sub(r"\\\n\s*", " ", self.script)
        return [shlex.split(ln, comments=True) for ln in joined.splitlines() if ln.strip() and
                not ln.strip().startswith("#")]


def steps(text: str | None = None) -> list[Step]:
    """Every ```sh step of the handout, in order, with its skip reason and expected output."""
    lines = (text if text is not None else HANDOUT.read_text()).splitlines()
    out: list[Step] = []
    i, pending_skip, last_kind = 0, None, None
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            if lines[i].strip():  # prose between blocks: a skip marker or text that ends a step
                s = _SKIP.search(lines[i])
                pending_skip, last_kind = (s.group(1) if s else None), None
            i += 1
            continue
        kind, start = m.group(1), i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        if kind == "sh":
            out.append(Step("\n".join(body), start + 1, pending_skip))
        elif kind == "text" and last_kind == "sh" and out:
            out[-1].expected = [ln for ln in body if ln.strip()]
        pending_skip, last_kind = None, kind
    return out


def pattern(line: str) -> re.Pattern:
    """A line of expected output as a regular expression: ``…`` matches anything, spaces any spacing."""
    parts = [r"\s+".join(re.escape(tok) for tok in part.split()) for part in line.strip().split("…")]
    return re.compile(".*?".join(parts))
