"""Regression budgets: the spec file `tinykit check` reads, and how a measured figure is judged.

A spec lists checks; each names a model, the boards it runs on and a budget per check::

    checks:
      - model: models/kws.tflite        # relative to the spec file
        boards: [qemu-m4, qemu-m7]
        inputs: 5                       # random inputs timed and compared with the reference
        dataset: data/kws_test          # class folders of model inputs (for min_accuracy)
        budget:
          max_instructions: 7800000     # emulated boards; max_cycles / max_us on real ones
          max_flash_bytes: 120000
          max_ram_bytes: 40000
          min_accuracy: 0.85
          bit_exact: true

A budget holds when the figure is within it (equal passes): set at the measured figure it passes,
1 % tighter it fails. Latency figures are medians over the timed inferences.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tinykit.errors import TinykitError

DEFAULT_CHECK_INPUTS = 5


class SpecError(TinykitError):
    """The budget spec file is missing, unreadable or invalid."""


class Budget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_instructions: int | None = Field(None, gt=0, description="per inference, emulated boards")
    max_cycles: int | None = Field(None, gt=0, description="per inference, real boards")
    max_us: float | None = Field(None, gt=0, description="µs per inference, real boards")
    max_flash_bytes: int | None = Field(None, gt=0)
    max_ram_bytes: int | None = Field(None, gt=0)
    max_stack_bytes: int | None = Field(None, gt=0, description="stack used (painted), not reserved")
    min_accuracy: float | None = Field(None, ge=0.0, le=1.0, description="top-1 on the dataset, on the device")
    bit_exact: bool = True


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Path
    board: str | None = None
    boards: list[str] = Field(default_factory=list)
    inputs: int = Field(DEFAULT_CHECK_INPUTS, ge=1, le=10_000)
    dataset: Path | None = None
    budget: Budget

    @model_validator(mode="after")
    def _one_board_list(self) -> Check:
        if self.board:
            self.boards = [self.board, *[b for b in self.boards if b != self.board]]
        if not self.boards:
            raise ValueError("give board: ID or boards: [ID, ...]")
        if self.budget.min_accuracy is not None and self.dataset is None:
            raise ValueError("min_accuracy needs a dataset folder")
        return self


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checks: list[Check] = Field(min_length=1)


def _where(err: dict[str, Any]) -> str:
    return ".".join(str(p) for p in err["loc"]) or "spec"


def load_spec(path: Path | str) -> Spec:
    """Parse and validate; paths in the spec are relative to its folder. SpecError names the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise SpecError(f"cannot read budget spec {path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    try:
        spec = Spec.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        raise SpecError(f"{path}: {_where(first)}: {first['msg']}",
                        hint="see `tinykit check --help` for the spec format") from None
    for check in spec.checks:
        check.model = (path.parent / check.model) if not check.model.is_absolute() else check.model
        if check.dataset is not None and not check.dataset.is_absolute():
            check.dataset = path.parent / check.dataset
    return spec


@dataclass(frozen=True)
class Verdict:
    """One budget item judged: the figure, the limit, and whether it holds."""

    name: str
    figure: float | int | bool | None
    limit: float | int | bool
    ok: bool

    def describe(self) -> str:
        relation = ">=" if self.name.startswith("min_") else "<="
        if self.name == "bit_exact":
            return f"bit_exact: {self.figure} mismatched bytes (budget 0)"
        return f"{self.name}: {_fmt(self.figure)} (budget {relation} {_fmt(self.limit)})"

    def to_dict(self) -> dict[str, Any]:
        return {"budget": self.name, "figure": self.figure, "limit": self.limit, "ok": self.ok}


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if v < 1 else f"{v:,.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


# budget field -> key of the figures dict a check gathers (see tinykit.hil.check)
FIGURE_OF = {
    "max_instructions": "instructions_per_inference", "max_cycles": "cycles_per_inference",
    "max_us": "latency_us", "max_flash_bytes": "flash_bytes", "max_ram_bytes": "ram_bytes",
    "max_stack_bytes": "stack_used_bytes", "min_accuracy": "accuracy",
}


def judge(budget: Budget, figures: dict[str, Any], board_id: str) -> list[Verdict]:
    """Every budget item set in ``budget`` against ``figures``; a figure the board cannot give is an error."""
    verdicts = []
    for name, key in FIGURE_OF.items():
        limit = getattr(budget, name)
        if limit is None:
            continue
        figure = figures.get(key)
        if figure is None:
            raise SpecError(f"budget {name} cannot be checked on {board_id}: it reports no {key}",
                            hint="emulated boards count instructions (max_instructions); real boards "
                                 "count cycles (max_cycles, max_us)")
        ok = figure >= limit if name.startswith("min_") else figure <= limit
        verdicts.append(Verdict(name, figure, limit, bool(ok)))
    if budget.bit_exact:
        mismatched = int(figures.get("mismatched_bytes") or 0)
        verdicts.append(Verdict("bit_exact", mismatched, 0, mismatched == 0))
    return verdicts
