"""One leaderboard figure (matplotlib, the optional ``report`` extra): the score per model
and task type, and the overall score against cases per minute."""

from __future__ import annotations

from pathlib import Path

from .leaderboard import Leaderboard, Row


def plots_available() -> bool:
    from ..reports.plots import matplotlib_available

    return matplotlib_available()


def _label(row: Row, rank: int) -> str:
    parts = [f"#{rank} {row.model}", f"k={row.few_shot}"]
    if row.translate:
        parts.append("translate")
    if row.samples and row.samples > 1:
        parts.append(f"{row.samples} samples")
    if row.temperature:
        parts.append(f"T={row.temperature:g}")
    if row.prompt and row.prompt != "default":
        parts.append(row.prompt)
    return "\n".join([parts[0], " ".join(parts[1:])])


def leaderboard_figure(board: Leaderboard, path: Path) -> Path:
    """Left: grouped bars, one group per cell (best first), one bar per task type plus the
    overall score, the reference's overall as a dashed line. Right: overall score against
    cases/min, one point per cell."""
    from ..reports.plots import _pyplot

    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    rows = [r for r in board.rows if r.overall is not None]
    series = [*board.types, "overall"]
    fig, (left, right) = plt.subplots(
        1,
        2,
        figsize=(max(9.0, 3.0 + 1.6 * len(rows) + 4.0), 4.8),
        gridspec_kw={"width_ratios": [max(len(rows), 2), 2]},
    )
    try:
        width = 0.8 / max(len(series), 1)
        for j, name in enumerate(series):
            values = [r.overall if name == "overall" else r.types.get(name) for r in rows]
            xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(rows))]
            left.bar(
                [x for x, v in zip(xs, values, strict=True) if v is not None],
                [v for v in values if v is not None],
                width=width,
                label=name,
                edgecolor="black" if name == "overall" else None,
            )
        for ref in board.references:
            if ref.overall is not None:
                left.axhline(ref.overall, ls="--", color="grey", lw=1)
                right.axhline(ref.overall, ls="--", color="grey", lw=1, label=ref.name)
        left.set_xticks(range(len(rows)), [_label(r, i) for i, r in enumerate(rows, 1)], fontsize=7)
        left.set(ylabel=board.metric, title="score per model and task type")
        left.set_ylim(min(0.0, *(r.overall or 0.0 for r in rows)), 1.05)
        left.legend(fontsize=7, loc="upper right")
        left.grid(axis="y", alpha=0.3)
        for i, r in enumerate(rows, 1):
            speed = r.cases_per_min or 0.0
            right.scatter([speed], [r.overall], s=30)
            right.annotate(
                f"#{i}",
                (speed, r.overall or 0.0),
                fontsize=8,
                xytext=(4, 2),
                textcoords="offset points",
            )
        right.xaxis.set_major_locator(MaxNLocator(5))
        right.set(xlabel="cases per minute (model time)", ylabel=board.metric)
        right.set_title("score against speed")
        right.set_xlim(left=0)
        right.grid(alpha=0.3)
        if board.references:
            right.legend(fontsize=6, loc="best")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
