"""A task for a DRAGON job the library does not know: fields from label_name and the label
inventory of the training data. Such tasks lean on few-shot examples from training data."""

from __future__ import annotations

from typing import Any

from ..task import task_from_mapping
from .convert import LabelInventory
from .jobs import DragonJob
from .library import DragonSpec, LibraryEntry, PredictionSpec

DESCRIPTION = (
    "Task '{name}' of the DRAGON benchmark of Dutch clinical reports. Read the (Dutch) report "
    "and answer as in the worked examples: they show the expected answer for similar reports."
)


def derive_entry(job: DragonJob, inv: LabelInventory) -> LibraryEntry:
    kind = job.label_name
    fields: dict[str, Any] = {}
    if "entity" in kind:
        fields["entities"] = {
            "type": "spans",
            "labels": inv.entity_labels or ["ENTITY"],
            "description": "Every entity mention, copied exactly from the text.",
            # DRAGON's entities follow their annotators' token conventions: amounts and
            # parentheses may be part of them, so mentions are kept as written
            "trim": "none",
            # in text order, as the worked examples are; the layout the --derive figures
            # in benchmarks/RESULTS.md were measured with
            "layout": "pairs",
        }
        prediction = PredictionSpec(field="entities")
    else:
        names = [f"label_{i + 1}" for i in range(inv.positions)]
        for i, name in enumerate(names):
            if "binary" in kind:
                fields[name] = {"type": "boolean"}
            elif "regression" in kind:
                fields[name] = {"type": "number", "nullable": kind.startswith("multi_label")}
            else:
                values = [str(v) for v in inv.classes[i]] or ["unknown"]
                fields[name] = {"type": "enum", "values": sorted(values)}
        single = not kind.startswith("multi_label")
        prediction = PredictionSpec(field=names[0]) if single else PredictionSpec(fields=names)
        if single:
            fields = {names[0]: fields[names[0]]}
    task = task_from_mapping(
        {
            "name": job.task_name,
            "description": DESCRIPTION.format(name=job.task_name),
            "fields": fields,
        },
        f"derived task for {job.task_name}",
    )
    spec = DragonSpec(task_name=job.task_name, label_name=kind, prediction=prediction)
    return LibraryEntry(task=task, dragon=spec, source="derived from the training labels")
