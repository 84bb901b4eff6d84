"""The size of the specimen is not the size of the finding in it."""

from __future__ import annotations

import pytest

from extractinator.reading import read_amounts
from extractinator.task import Task
from extractinator.validate import InvalidOutput

TASK = Task.model_validate(
    {
        "name": "breast",
        "description": "Breast resection pathology.",
        "fields": {
            "tumor_size_mm": {
                "type": "number",
                "unit": "mm",
                "nullable": True,
                "description": "Largest diameter of the invasive tumour in the specimen",
            }
        },
    }
)
TEXT = (
    "Macroscopie: lumpectomie 5,8 x 5,0 x 3,2 cm, 41 g, georiënteerd. Centraal een "
    "onscherp begrensde laesie van circa 2 cm.\n"
    "Materiaal in vijf fragmenten, samen 6 x 5 x 3 cm. In het preparaat een tumor van 1,2 cm.\n"
    "Ablatiopreparaat 20 x 16 x 4,5 cm; de grootste haard meet 2,4 cm.\n"
)


@pytest.mark.parametrize("written", ["5,8 x 5,0 x 3,2 cm", "6 x 5 x 3 cm", "20 x 16 x 4,5 cm"])
def test_the_specimens_size_is_refused_with_its_words(written):
    with pytest.raises(InvalidOutput, match="the size of the specimen") as e:
        read_amounts(TASK, {"tumor_size_mm": written}, TEXT)
    assert e.value.kind == "invalid_amount" and "field 'tumor_size_mm'" in str(e.value)


@pytest.mark.parametrize(("written", "mm"), [("circa 2 cm", 20), ("1,2 cm", 12), ("2,4 cm", 24)])
def test_a_finding_in_the_specimen_is_its_size(written, mm):
    out = {"tumor_size_mm": written}
    read_amounts(TASK, out, TEXT)
    assert out["tumor_size_mm"] == mm


def test_a_field_that_asks_for_no_finding_may_take_the_specimens_size():
    spec = TASK.fields["tumor_size_mm"].model_copy(
        update={"description": "Largest dimension of the specimen"}
    )
    task = TASK.model_copy(update={"fields": {"specimen_mm": spec}})
    out = {"specimen_mm": "5,8 x 5,0 x 3,2 cm"}
    read_amounts(task, out, TEXT)
    assert out["specimen_mm"] == 58
