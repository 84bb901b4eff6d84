"""A distance to a landmark copied as a size is re-asked, then null."""

from __future__ import annotations

import pytest

from extractinator.reading import read_amounts
from extractinator.task import Task
from extractinator.validate import InvalidOutput


def task(description):
    spec = {"type": "number", "unit": "mm", "nullable": True, "description": description}
    return Task.model_validate({"name": "t", "description": "d", "fields": {"size_mm": spec}})


SIZE = task("Largest diameter of the largest breast lesion in mm")
TEXT = (
    "Links op 1 uur, 4 cm van de tepel, een ovale laesie van 0,8 cm. "
    "Marge op 6 mm van het snijvlak."
)


@pytest.mark.parametrize("written", ["4 cm", "4", "6 mm"])
def test_a_distance_to_a_landmark_is_no_size(written):
    with pytest.raises(InvalidOutput, match="is a distance in the report .* not a size"):
        read_amounts(SIZE, {"size_mm": written}, TEXT)


def test_after_the_reasks_it_is_null_and_the_reading_says_why():
    out = {"size_mm": "4 cm"}
    readings = read_amounts(SIZE, out, TEXT, null_unreadable=True)
    assert out["size_mm"] is None
    assert "distance" in readings["size_mm"].problem


def test_the_size_and_a_number_also_written_as_a_size_are_read():
    out = {"size_mm": "0,8 cm"}
    read_amounts(SIZE, out, TEXT)
    assert out["size_mm"] == 8.0
    out = {"size_mm": "4 cm"}  # written as a distance and as a size: not only a distance
    read_amounts(SIZE, out, "4 cm van de tepel een laesie van 4 cm.")
    assert out["size_mm"] == 40.0


@pytest.mark.parametrize(
    "description",
    ["Distance from the tumour to the circumferential resection margin", "Smallest margin", None],
)
def test_fields_about_distances_or_not_about_sizes_take_distances(description):
    out = {"size_mm": "6 mm"}
    read_amounts(task(description), out, TEXT)
    assert out["size_mm"] == 6.0
