"""The sweep file (YAML): a benchmark, the models and the settings grid, planned into cells.

A sweep file::

    benchmark:
      dragon: ../shared/dragon-synthetic/test-input   # DRAGON job folders (input dir)
      ground_truth: ../shared/dragon-synthetic/test-ground-truth  # default: a sibling
      tasks: [105, 107]            # default: all; folds: [0] (default: all found)
      limit: 3                     # test cases per task (default: all)
    # or: benchmark: {task: task.yaml, data: reports.csv, labels: labels.csv, limit: 50}
    # or: benchmark: {heldout: ../benchmarks/heldout, tasks: [a, b], split: dev, limit: 5}
    models:
      - default                                     # the embedded default model
      - qwen2.5-coder-0.5b                          # a known model (model_store.KNOWN_MODELS)
      - {gguf: models/other.gguf, name: other}      # any GGUF file
      - {ollama: "qwen2.5:7b", base_url: "http://localhost:11434"}
      - {openai: my-model, base_url: "http://localhost:8000/v1", api_key_env: MY_KEY}
    grid:                          # every combination is one cell
      few_shot: [0, 3]
      translate: [false, true]
      samples: [1]
      temperature: [0.0]
      prompt: [default]            # names of `prompts` (default: no change)
    prompts:
      careful: {append: "Read the whole report before answering."}
    settings: {n_ctx: 4096, threads: 2, max_tokens: 512, seed: 0}

Relative paths are relative to the sweep file. Unknown keys are errors.
"""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from ..config import (
    ENGINE_CONFIGS,
    EngineConfig,
    GenerationConfig,
    LlamaCppConfig,
    RunConfig,
    option_default,
)
from ..config import engine_config as make_engine_config
from ..config import run_config as make_run_config
from ..errors import ConfigError
from .heldout import Split

_Strict = ConfigDict(extra="forbid")


class DragonBenchmark(BaseModel):
    """DRAGON job folders plus their ground truth."""

    model_config = _Strict
    dragon: Path
    ground_truth: Path | None = None  # default: <dragon>/../test-ground-truth
    tasks: list[str] | None = None
    folds: list[int] | None = None
    limit: int | None = Field(default=None, ge=1)

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_ids(cls, v: Any) -> Any:
        return [str(t) for t in v] if isinstance(v, list) else v

    @property
    def kind(self) -> Literal["dragon"]:
        return "dragon"


class TaskBenchmark(BaseModel):
    """A task file, the data to run it over and the labels to score it with."""

    model_config = _Strict
    task: Path
    data: Path
    labels: Path | None = None  # default: the data file itself (label columns beside text)
    id: str | None = None  # id column of the labels (default: the task's)
    limit: int | None = Field(default=None, ge=1)

    @property
    def kind(self) -> Literal["task"]:
        return "task"


class HeldoutBenchmark(BaseModel):
    """Held-out task folders (benchmarks/heldout.py's format), one split of their cases."""

    model_config = _Strict
    heldout: Path  # the root folder of task folders
    tasks: list[str] | None = None  # default: every task folder
    split: Split = "dev"
    limit: int | None = Field(default=None, ge=1)  # first N cases of the split per task

    @property
    def kind(self) -> Literal["heldout"]:
        return "heldout"


class ModelEntry(BaseModel):
    """One model: a GGUF (``default``, a known name or a path), an Ollama tag or an
    OpenAI-compatible server model. A plain string is a ``gguf`` entry."""

    model_config = _Strict
    name: str | None = None  # label in cell names and the leaderboard
    gguf: str | None = None
    ollama: str | None = None
    openai: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None  # environment variable holding the API key
    concurrency: int = Field(default=1, ge=1, le=256)
    timeout: float | None = Field(default=None, gt=0)  # seconds per answer (server models)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"gguf": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _exactly_one(self) -> ModelEntry:
        given = [k for k in ("gguf", "ollama", "openai") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of `gguf`, `ollama` or `openai`")
        if self.gguf and self.base_url:
            raise ValueError("`base_url` is for `ollama` / `openai` models")
        if self.gguf and self.timeout is not None:
            raise ValueError("`timeout` is for `ollama` / `openai` models")
        return self

    @property
    def kind(self) -> Literal["llamacpp", "ollama", "openai"]:
        return "llamacpp" if self.gguf else "ollama" if self.ollama else "openai"

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.gguf:
            return Path(self.gguf).stem if self.gguf.endswith(".gguf") else self.gguf
        return f"{self.kind}-{self.ollama or self.openai}"

    @property
    def slug(self) -> str:
        return slugify(self.label)


class Grid(BaseModel):
    """The settings axes; the cells are their product (times the models)."""

    model_config = _Strict
    few_shot: list[int] = Field(default=[0], min_length=1)
    translate: list[bool] = Field(default=[False], min_length=1)
    samples: list[int] = Field(default=[1], min_length=1)
    temperature: list[float] = Field(default=[0.0], min_length=1)
    prompt: list[str] = Field(default=["default"], min_length=1)

    @field_validator("few_shot", "translate", "samples", "temperature", "prompt", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return v if isinstance(v, list) else [v]

    @field_validator("few_shot")
    @classmethod
    def _k_range(cls, v: list[int]) -> list[int]:
        if any(not 0 <= k <= 20 for k in v):
            raise ValueError("few-shot K must be 0..20")
        return v

    @field_validator("samples")
    @classmethod
    def _samples_range(cls, v: list[int]) -> list[int]:
        if any(not 1 <= n <= 50 for n in v):
            raise ValueError("samples must be 1..50")
        return v

    @field_validator("temperature")
    @classmethod
    def _temperature_range(cls, v: list[float]) -> list[float]:
        if any(not 0 <= t <= 2 for t in v):
            raise ValueError("temperature must be 0..2")
        return v


class PromptVariant(BaseModel):
    """Instructions appended to each task's description."""

    model_config = _Strict
    append: str = Field(min_length=1)


class Settings(BaseModel):
    """Engine and generation settings shared by every cell."""

    model_config = _Strict
    n_ctx: int = Field(default=option_default(LlamaCppConfig, "n_ctx"), ge=256)
    threads: int | None = Field(default=None, ge=1)
    max_tokens: int = Field(default=option_default(GenerationConfig, "max_tokens"), ge=1)
    max_reasks: int = Field(default=option_default(GenerationConfig, "max_reasks"), ge=0, le=5)
    seed: int = option_default(GenerationConfig, "seed")


def _benchmark_kind(v: Any) -> str | None:
    if isinstance(v, dict):
        return next((k for k in ("dragon", "task", "heldout") if k in v), None)
    return getattr(v, "kind", None)


Benchmark = Annotated[
    Annotated[DragonBenchmark, Tag("dragon")]
    | Annotated[TaskBenchmark, Tag("task")]
    | Annotated[HeldoutBenchmark, Tag("heldout")],
    Discriminator(
        _benchmark_kind,
        custom_error_type="benchmark_kind",
        custom_error_message=(
            "give `dragon: INPUT_DIR`, `task: TASK_FILE` (with `data`) or `heldout: ROOT`"
        ),
    ),
]


class SweepFile(BaseModel):
    """The whole sweep file."""

    model_config = _Strict
    name: str | None = None
    benchmark: Benchmark
    models: list[ModelEntry] = Field(min_length=1)
    grid: Grid = Field(default_factory=Grid)
    prompts: dict[str, PromptVariant] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)

    @model_validator(mode="after")
    def _consistent(self) -> SweepFile:
        unknown = [p for p in self.grid.prompt if p != "default" and p not in self.prompts]
        if unknown:
            raise ValueError(f"grid.prompt: {unknown[0]!r} is not defined under `prompts`")
        if self.benchmark.kind != "dragon":
            if any(self.grid.few_shot):
                raise ValueError("grid.few_shot: few-shot K needs a DRAGON benchmark")
            if any(self.grid.translate):
                raise ValueError("grid.translate: translation needs a DRAGON benchmark")
        for t, n in itertools.product(self.grid.temperature, self.grid.samples):
            if n > 1 and t == 0:
                raise ValueError(f"grid: samples {n} needs a temperature above 0 in every cell")
        slugs = [m.slug for m in self.models]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ValueError(f"models: two models named {dupes[0]!r}; give them a `name`")
        return self


class CellSettings(BaseModel):
    """What makes one cell: the model and one point of the grid."""

    model_config = _Strict
    model: ModelEntry
    few_shot: int = 0
    translate: bool = False
    samples: int = 1
    temperature: float = 0.0
    prompt: str = "default"

    @property
    def name(self) -> str:
        return cell_name(self)


def slugify(text: str) -> str:
    """Lower-case letters, digits, dots and dashes."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.") or "model"


def cell_name(cell: CellSettings) -> str:
    """A readable, stable directory name: settings at their defaults (samples 1, temperature
    0, the default prompt) are left out, so adding an axis never renames existing cells."""
    parts = [cell.model.slug, f"fewshot{cell.few_shot}"]
    parts.append(f"translate-{'on' if cell.translate else 'off'}")
    if cell.samples != 1:
        parts.append(f"samples{cell.samples}")
    if cell.temperature != 0:
        parts.append(f"temp{cell.temperature:g}")
    if cell.prompt != "default":
        parts.append(f"prompt-{slugify(cell.prompt)}")
    return "__".join(parts)


def plan_cells(sweep: SweepFile) -> list[CellSettings]:
    """Every cell, grouped by model (one model load per group), in file order."""
    g = sweep.grid
    return [
        CellSettings(model=model, few_shot=k, translate=tr, samples=n, temperature=t, prompt=p)
        for model in sweep.models
        for k, tr, n, t, p in itertools.product(
            g.few_shot, g.translate, g.samples, g.temperature, g.prompt
        )
    ]


def format_error(err: ValidationError, where: str) -> str:
    """The first problem as one line, ``FILE: `key.path`: message`` (with a count of the
    others)."""
    problems = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"]]
        if len(loc) > 2 and loc[0] == "benchmark" and loc[1] in ("dragon", "task", "heldout"):
            del loc[1]  # the union's tag
        loc = [p for p in loc if not p.startswith("function-")]
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        key = f"`{'.'.join(loc)}`: " if loc else ""
        problems.append(f"{where}: {key}{msg}")
    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return problems[0] + more if problems else f"{where}: invalid sweep file"


def _resolve(base: Path, path: Path | None) -> Path | None:
    if path is None:
        return None
    path = path.expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def load_sweep(path: str | Path) -> SweepFile:
    """Read and check a sweep file; relative paths become absolute (relative to the file).
    Errors are one line naming the file and the key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: sweep file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read sweep file ({e})") from None
    except yaml.YAMLError as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"{path}: not valid YAML ({first})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping with `benchmark` and `models`")
    try:
        sweep = SweepFile.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(format_error(e, str(path))) from None
    base = Path(os.path.abspath(path)).parent  # lexically: a symlinked folder stays put
    b = sweep.benchmark
    if isinstance(b, DragonBenchmark):
        b.dragon = _resolve(base, b.dragon)  # type: ignore[assignment]
        b.ground_truth = _resolve(base, b.ground_truth) or b.dragon.parent / "test-ground-truth"
        checks = {"benchmark.dragon": b.dragon, "benchmark.ground_truth": b.ground_truth}
    elif isinstance(b, HeldoutBenchmark):
        b.heldout = _resolve(base, b.heldout)  # type: ignore[assignment]
        checks = {"benchmark.heldout": b.heldout}
    else:
        b.task = _resolve(base, b.task)  # type: ignore[assignment]
        b.data = _resolve(base, b.data)  # type: ignore[assignment]
        b.labels = _resolve(base, b.labels) or b.data
        checks = {"benchmark.task": b.task, "benchmark.data": b.data, "benchmark.labels": b.labels}
    for key, p in checks.items():
        if not p.exists():
            raise ConfigError(f"{path}: `{key}`: {p} not found")
    if isinstance(b, HeldoutBenchmark):
        from ..errors import DataError
        from .heldout import find_tasks

        try:
            find_tasks(b.heldout, b.tasks)
        except DataError as e:
            raise ConfigError(f"{path}: `benchmark.heldout`: {e}") from None
    for i, m in enumerate(sweep.models):
        if m.gguf and m.gguf.endswith(".gguf"):
            gguf = _resolve(base, Path(m.gguf))
            assert gguf is not None
            if not gguf.is_file():
                raise ConfigError(f"{path}: `models.{i}.gguf`: {gguf} not found")
            m.gguf = str(gguf)
        elif m.gguf and m.gguf != "default":
            from ..model_store import KNOWN_MODELS

            if m.gguf not in KNOWN_MODELS:
                known = ", ".join(["default", *KNOWN_MODELS])
                raise ConfigError(
                    f"{path}: `models.{i}.gguf`: {m.gguf!r} is neither a .gguf path nor a "
                    f"known model ({known})"
                )
    return sweep


def engine_config(sweep: SweepFile, model: ModelEntry) -> EngineConfig:
    """The engine of one model (known GGUF names are assembled here, on first use). The
    shared settings go to the engines they apply to (threads: the embedded engine only)."""
    s = sweep.settings
    name: str | None
    if model.gguf:
        name = None if model.gguf == "default" else model.gguf
        if name is not None and not name.endswith(".gguf"):
            from ..model_store import KNOWN_MODELS, ensure_model

            name = str(ensure_model(KNOWN_MODELS[name]))
    else:
        name = model.ollama or model.openai
    fields = ENGINE_CONFIGS[model.kind].model_fields
    shared = {"n_ctx": s.n_ctx, "n_threads": s.threads}
    server = {
        "base_url": model.base_url,
        "api_key": os.environ.get(model.api_key_env) if model.api_key_env else None,
        "concurrency": model.concurrency,
        "timeout": model.timeout,
    }
    given = {k: v for k, v in {**shared, **server}.items() if k in fields}
    return make_engine_config(model.kind, model=name, **given)


def run_config(
    sweep: SweepFile, cell: CellSettings, engine: EngineConfig, progress: bool = True
) -> RunConfig:
    """The RunConfig of one cell (what ``extractinator dragon run`` would build from flags)."""
    s = sweep.settings
    return make_run_config(
        engine,
        generation={
            "temperature": cell.temperature,
            "seed": s.seed,
            "max_tokens": s.max_tokens,
            "max_reasks": s.max_reasks,
            "samples": cell.samples,
        },
        limit=sweep.benchmark.limit,
        progress=progress,
    )


def prompt_instructions(sweep: SweepFile, cell: CellSettings) -> str | None:
    """The extra instructions of the cell's prompt variant (None: the task as it is)."""
    return None if cell.prompt == "default" else sweep.prompts[cell.prompt].append
