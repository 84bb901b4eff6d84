"""Long documents: split a text that does not fit the context into chunks (``plan``) and
merge the chunks' records into one (``merge``)."""

from .merge import merge_outputs, merge_records, merge_values
from .plan import DEFAULT_OVERLAP_CHARS, Chunk, plan_chunks, split_text, truncate

__all__ = [
    "DEFAULT_OVERLAP_CHARS",
    "Chunk",
    "merge_outputs",
    "merge_records",
    "merge_values",
    "plan_chunks",
    "split_text",
    "truncate",
]
