"""What an engine counted about its own work, for benchmarks and diagnostics.

``Engine.stats()`` returns an :class:`EngineStats` snapshot (totals since the engine was
made), or None for engines that count nothing (servers: their own metrics endpoints do).
The counters never change answers; records do not carry them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass
class ScoringStats:
    """Option scoring (P(value) of boolean/enum fields), which runs after generation
    (decodes on the KV cache) and is not in GenerationResult's prompt/generation seconds."""

    requests: int = 0
    seconds: float = 0.0  # wall time
    decode_seconds: float = 0.0  # llama.cpp's own decode time
    tokens: int = 0  # tokens llama.cpp evaluated


@dataclass
class EngineStats:
    """A snapshot of an engine's counters (a copy: later work does not change it)."""

    engine: str
    option_scoring: ScoringStats = field(default_factory=ScoringStats)

    def snapshot(self) -> EngineStats:
        return replace(self, option_scoring=replace(self.option_scoring))
