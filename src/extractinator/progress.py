"""A progress bar for long runs: cases done, ok/failed, rate per minute and ETA."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RunProgress:
    """Counts cases; draws a bar on stderr when enabled and stderr is a terminal or forced."""

    def __init__(self, total: int | None, *, enabled: bool = True, label: str = "cases") -> None:
        self.total = total
        self.ok = 0
        self.failed = 0
        self.skipped = 0
        self.started = time.perf_counter()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if enabled:
            console = Console(file=sys.stderr)
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("ok {task.fields[ok]} · failed {task.fields[failed]}"),
                TextColumn("· {task.fields[rate]}/min"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._task = self._progress.add_task(label, total=total, ok=0, failed=0, rate="–")

    def __enter__(self) -> RunProgress:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress:
            self._progress.stop()

    @property
    def done(self) -> int:
        return self.ok + self.failed

    def rate_per_min(self) -> float:
        elapsed = time.perf_counter() - self.started
        return 60.0 * self.done / elapsed if elapsed > 0 else 0.0

    def skip(self, n: int = 1) -> None:
        self.skipped += n
        if self._progress and self._task is not None:
            self._progress.update(self._task, advance=n)

    def advance(self, ok: bool) -> None:
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        if self._progress and self._task is not None:
            self._progress.update(
                self._task,
                advance=1,
                ok=self.ok,
                failed=self.failed,
                rate=f"{self.rate_per_min():.1f}",
            )
