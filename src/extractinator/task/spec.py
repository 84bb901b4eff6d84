"""The task file contract: typed output fields, instructions and optional examples.

A task is written once (YAML/JSON file, or Python) and compiles to one JSON Schema (for
constrained decoding) and one pydantic model (for validation); see ``schema.py``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

FieldType = Literal["boolean", "integer", "number", "string", "enum", "list", "object", "spans"]
FIELD_TYPES: tuple[str, ...] = FieldType.__args__  # type: ignore[attr-defined]
EnumValue = str | int | float | bool
SpanLayout = Literal["pairs", "list", "by_label"]
# chosen on the held-out benchmark's dev half (benchmarks/RESULTS.md, session 6): span F1
# 0.577 for by_label, 0.469 for pairs, 0.472 for list
DEFAULT_SPAN_LAYOUT: SpanLayout = "by_label"
# spans: "amounts" cuts a mention before the first amount in it ("metoprolol 50 mg 1dd1" ->
# "metoprolol"), a mention that starts with one is kept whole; "qualifiers" also drops a
# parenthesis at its end ("hypertensie (sinds 2012)" -> "hypertensie"); "none" keeps it
SpanTrim = Literal["amounts", "qualifiers", "none"]
DEFAULT_SPAN_TRIM: SpanTrim = "qualifiers"  # chosen on the held-out dev half (RESULTS.md)
# how the values of one field from the chunks of a long document become one (chunking.py)
MergeRule = Literal["any", "all", "max", "min", "first", "last", "concat"]
MERGE_RULES: dict[str, tuple[str, ...]] = {  # per type: the rules that fit, default first
    "boolean": ("any", "all"),
    "integer": ("max", "min", "first", "last"),
    "number": ("max", "min", "first", "last"),
    "enum": ("first", "last"),
    "string": ("first", "last", "concat"),
    "list": ("concat", "first", "last"),
    "object": ("first", "last"),
    "spans": ("concat",),
}
# amounts: the one value taken from a range ("4-6 mm") or the dimensions of a size
# ("3,2 x 2,1 cm"); the default first
AmountPick = Literal["largest", "smallest", "first", "last", "mean"]
AMOUNT_PICKS: tuple[str, ...] = AmountPick.__args__  # type: ignore[attr-defined]
# a text too long for the context: run it in chunks and merge them, or keep one chunk
LongText = Literal["chunk", "truncate"]
# which end of a too-long text matters less (DRAGON's `recommended_truncation_side`):
# "left" cuts the start (the end holds what matters), "right" cuts the end
TruncationSide = Literal["left", "right"]


class FieldSpec(BaseModel):
    """One output field. Which attributes apply depends on ``type``."""

    model_config = ConfigDict(extra="forbid")

    type: FieldType
    description: str | None = None
    nullable: bool = False
    minimum: float | None = None  # integer / number
    maximum: float | None = None  # integer / number
    unit: str | None = None  # integer / number: the unit the value must be given in
    values: list[EnumValue] | None = None  # enum
    items: FieldSpec | None = None  # list
    fields: dict[str, FieldSpec] | None = None  # object
    labels: list[str] | dict[str, str] | None = None  # spans: labels, or label -> description
    # spans: how the model writes them (records hold [{"text", "label"}] whatever the layout):
    # "by_label" (default): {"LABEL": ["text", ...], ...}, fewest tokens; "pairs":
    # [["text", "LABEL"], ...] in text order; "list": [{"text": .., "label": ..}, ..]
    # (the same as pairs, ~1.6x the generated tokens).
    layout: SpanLayout | None = None
    trim: SpanTrim | None = None  # spans: see SpanTrim (None: DEFAULT_SPAN_TRIM)
    evidence: bool = False  # ask for a verbatim supporting quote (see the confidence layer)
    merge: MergeRule | None = None  # long documents: see MERGE_RULES (None: the type's default)
    # integer/number with a unit: the model copies the amount as written ("1,4 cm") and it
    # is read and converted in code (reading.py); `amount: false` asks for the number itself
    amount: bool | None = None
    pick: AmountPick | None = None  # amounts: the value of a range / a size's dimensions
    # a "largest"/"smallest" amount beside a list of findings with sizes is computed from
    # the entries (summaries.py); `summary: false` keeps the model's answer
    summary: Literal[False] | None = None
    # a computed field: an expression over the other fields (compute.py), evaluated after
    # the answer is read; the model never sees it
    compute: str | None = None

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: Any) -> dict[str, Any]:
        """Leave options out while unset, so tasks written before them keep their
        fingerprint."""
        dumped: dict[str, Any] = handler(self)
        for key in ("merge", "amount", "pick", "compute", "trim", "summary"):
            if getattr(self, key) is None:
                dumped.pop(key, None)
        return dumped

    @model_validator(mode="after")
    def _check_attributes(self) -> FieldSpec:
        t = self.type
        if self.merge is not None and self.merge not in MERGE_RULES[t]:
            raise ValueError(
                f"`merge: {self.merge}` does not fit type {t} "
                f"(use one of: {', '.join(MERGE_RULES[t])})"
            )
        if t == "enum":
            if not self.values:
                raise ValueError("type enum needs a non-empty `values` list")
            if len({json.dumps(v) for v in self.values}) != len(self.values):
                raise ValueError("enum `values` has duplicates")
        elif self.values is not None:
            raise ValueError(f"`values` only applies to enum fields, not {t}")
        if t == "list" and self.items is None:
            raise ValueError("type list needs `items` (the type of each element)")
        if t != "list" and self.items is not None:
            raise ValueError(f"`items` only applies to list fields, not {t}")
        if t == "object" and not self.fields:
            raise ValueError("type object needs a non-empty `fields` mapping")
        if t != "object" and self.fields is not None:
            raise ValueError(f"`fields` only applies to object fields, not {t}")
        if t == "spans" and not self.labels:
            raise ValueError("type spans needs a non-empty `labels` list")
        if t != "spans" and self.labels is not None:
            raise ValueError(f"`labels` only applies to spans fields, not {t}")
        if t != "spans" and self.layout is not None:
            raise ValueError(f"`layout` only applies to spans fields, not {t}")
        if t != "spans" and self.trim is not None:
            raise ValueError(f"`trim` only applies to spans fields, not {t}")
        if t not in ("integer", "number"):
            for attr in ("minimum", "maximum", "unit"):
                if getattr(self, attr) is not None:
                    raise ValueError(f"`{attr}` only applies to integer/number fields, not {t}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum} is greater than maximum {self.maximum}")
        if t not in ("integer", "number") or self.unit is None:
            for attr in ("amount", "pick", "summary"):
                if getattr(self, attr) is not None:
                    raise ValueError(f"`{attr}` only applies to integer/number fields with a unit")
        if self.pick is not None and self.amount is False:
            raise ValueError("`pick` applies to amounts read as written (`amount: false` is set)")
        if self.compute is not None:
            if not self.compute.strip():
                raise ValueError("`compute` is empty")
            for attr in ("evidence", "amount", "pick"):
                if getattr(self, attr):
                    raise ValueError(f"`{attr}` does not apply to a computed field")
        return self

    @property
    def is_amount(self) -> bool:
        """Read as written and converted in code: a number/integer with a unit, unless
        ``amount: false`` (computed fields are never read)."""
        return (
            self.type in ("integer", "number")
            and self.unit is not None
            and self.amount is not False
            and self.compute is None
        )

    @property
    def is_findings(self) -> bool:
        """A list of objects: one entry per finding."""
        return self.type == "list" and self.items is not None and self.items.type == "object"

    @property
    def pick_rule(self) -> str:
        return self.pick or AMOUNT_PICKS[0]

    @property
    def merge_rule(self) -> str:
        """The merge rule in effect: the one set, or the type's default."""
        return self.merge or MERGE_RULES[self.type][0]

    @property
    def span_layout(self) -> SpanLayout:
        return self.layout or DEFAULT_SPAN_LAYOUT

    @property
    def span_trim(self) -> SpanTrim:
        return self.trim or DEFAULT_SPAN_TRIM

    @property
    def label_names(self) -> list[str]:
        if isinstance(self.labels, dict):
            return list(self.labels)
        return list(self.labels or [])


class Example(BaseModel):
    """A worked example: an input text (or a mapping of input fields) and its output."""

    model_config = ConfigDict(extra="forbid")

    input: str | dict[str, Any]
    output: dict[str, Any]


class Task(BaseModel):
    """An extraction task: instructions, where the text is, and the typed output fields."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    input: str | list[str] = "text"
    id: str | None = None
    fields: dict[str, FieldSpec] = Field(min_length=1)
    examples: list[Example] = Field(default_factory=list)
    # ask for a verbatim supporting quote before every top-level field (spans excepted)
    evidence: bool = False
    # texts longer than the model's context (chunking.py): "chunk" (default) or "truncate",
    # and the end that matters less: with "left", "truncate" keeps the text's end and
    # fields merged by the default "first" rule take the last value stated instead
    long_text: LongText | None = None
    truncation_side: TruncationSide | None = None

    @model_validator(mode="after")
    def _check_fields(self) -> Task:
        for name, spec in self.fields.items():
            _check_name(name)
            if spec.type == "spans":
                continue
            _check_no_nested_spans(name, spec)
        if isinstance(self.input, list) and not self.input:
            raise ValueError("`input` lists no columns")
        _check_evidence(self.fields, self.evidence_fields())
        if not self.answer_fields():
            raise ValueError("every field is computed: the model must answer at least one")
        if self.computed_fields():
            from .expressions import check_expressions

            check_expressions(self)
        return self

    @property
    def input_fields(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)

    def fingerprint(self) -> str:
        """A hash of everything that changes what the model is asked (resume key part)."""
        # options left out while unset, so tasks written before them keep their fingerprint
        unset = {"evidence"} if not self.evidence else set()
        unset |= {k for k in ("long_text", "truncation_side") if getattr(self, k) is None}
        dumped = self.model_dump(mode="json", exclude=unset or None)
        canonical = json.dumps(dumped, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def json_schema(self) -> dict[str, Any]:
        from .schema import task_json_schema

        return task_json_schema(self)

    def output_model(self) -> type[BaseModel]:
        from .schema import task_output_model

        return task_output_model(self)

    def merge_rule(self, name: str) -> str:
        """Field ``name``'s merge rule for long texts: its own, else the type's default,
        where a default "first" becomes "last" when the text's end matters more."""
        spec = self.fields[name]
        rule = spec.merge_rule
        if spec.merge is None and rule == "first" and self.truncation_side == "left":
            return "last"
        return rule

    def answer_fields(self) -> dict[str, FieldSpec]:
        """The fields the model answers (all but the computed ones), in the order it writes
        them: lists of findings (lists of objects) first, then the others, each in the
        file's order, so that a summary ("largest_mm") comes after the findings it sums up
        (measured on the held-out dev half; README, "Answer order")."""
        answered = {n: s for n, s in self.fields.items() if s.compute is None}
        findings = {n: s for n, s in answered.items() if s.is_findings}
        return {**findings, **{n: s for n, s in answered.items() if n not in findings}}

    def in_answer_order(self, output: dict[str, Any]) -> dict[str, Any]:
        """``output`` (an example's answer) with the answered fields in answer order, any
        other keys after them as they were."""
        order = [n for n in self.answer_fields() if n in output]
        return {
            **{n: output[n] for n in order},
            **{k: v for k, v in output.items() if k not in order},
        }

    def computed_fields(self) -> dict[str, FieldSpec]:
        """The fields computed from the answer, in order (each may read earlier ones)."""
        return {n: s for n, s in self.fields.items() if s.compute is not None}

    def span_fields(self) -> list[str]:
        return [n for n, s in self.fields.items() if s.type == "spans"]

    def evidence_fields(self) -> list[str]:
        """Top-level fields that get a supporting quote (``<field>_evidence``)."""
        return [
            n for n, s in self.fields.items() if s.evidence or (self.evidence and s.type != "spans")
        ]


def _check_name(name: str) -> None:
    if not name or not name.strip():
        raise ValueError("a field name is empty")


def _check_no_nested_spans(path: str, spec: FieldSpec) -> None:
    children: list[tuple[str, FieldSpec]] = []
    if spec.items is not None:
        children.append((f"{path}[]", spec.items))
    for sub, sub_spec in (spec.fields or {}).items():
        _check_name(sub)
        children.append((f"{path}.{sub}", sub_spec))
    for child_path, child in children:
        if child.compute is not None:
            raise ValueError(f"field '{child_path}': `compute` applies to top-level fields only")
        if child.merge is not None:
            raise ValueError(f"field '{child_path}': `merge` applies to top-level fields only")
        if child.type == "spans":
            raise ValueError(
                f"field '{child_path}': spans fields must be top-level fields of the task"
            )
        _check_no_nested_spans(child_path, child)


def _check_evidence(fields: dict[str, FieldSpec], with_evidence: list[str]) -> None:
    """`evidence` applies to top-level non-spans fields, whose quote key must be free."""
    for name, spec in fields.items():
        if spec.evidence and spec.type == "spans":
            raise ValueError(
                f"field '{name}': `evidence` does not apply to spans (they are grounded already)"
            )
        if name in with_evidence and f"{name}_evidence" in fields:
            raise ValueError(
                f"field '{name}_evidence': the name is taken by the evidence quote of '{name}'"
            )
        stack = [(f"{name}[]", spec.items)] if spec.items else []
        stack += [(f"{name}.{k}", v) for k, v in (spec.fields or {}).items()]
        while stack:
            path, child = stack.pop()
            if child.evidence:
                raise ValueError(f"field '{path}': `evidence` applies to top-level fields only")
            stack += [(f"{path}[]", child.items)] if child.items else []
            stack += [(f"{path}.{k}", v) for k, v in (child.fields or {}).items()]
