"""Reliability and coverage plots as PNG files (matplotlib, the optional ``report`` extra)."""

from __future__ import annotations

import re
from pathlib import Path

from .calibration import Bin, CoveragePoint

INSTALL_HINT = "PNG plots need matplotlib: pip install 'extractinator[report]'"


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def safe_name(field: str) -> str:
    """A field name usable in a file name."""
    return re.sub(r"[^\w.-]+", "_", field).strip("._") or "field"


def reliability_plot(bins: list[Bin], path: Path, title: str) -> Path:
    """Accuracy per confidence bin against the diagonal, with the case count on each bar."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    try:
        width = bins[0].upper - bins[0].lower if bins else 0.1
        filled = [b for b in bins if b.count]
        ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
        ax.bar(
            [b.lower for b in filled],
            [b.accuracy or 0.0 for b in filled],
            width=width,
            align="edge",
            edgecolor="black",
            alpha=0.75,
            label="accuracy",
        )
        ax.plot(
            [b.confidence for b in filled],
            [b.accuracy for b in filled],
            "o",
            color="darkred",
            label="accuracy at mean confidence",
        )
        for b in filled:
            ax.annotate(
                f"n={b.count}",
                (b.lower + width / 2, (b.accuracy or 0.0) + 0.015),
                ha="center",
                fontsize=7,
            )
        ax.set(xlim=(0, 1), ylim=(0, 1.08), xlabel="confidence of the predicted value")
        ax.set(ylabel="accuracy", title=title)
        ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def coverage_plot(curve: list[CoveragePoint], path: Path, title: str) -> Path:
    """Coverage (share of cases kept) and their accuracy against the confidence threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    try:
        ts = [p.threshold for p in curve]
        steps = {"drawstyle": "steps-post"}
        ax.plot(ts, [p.coverage for p in curve], label="coverage (confidence ≥ t)", **steps)
        kept = [p for p in curve if p.accuracy is not None]
        ax.plot(
            [p.threshold for p in kept],
            [p.accuracy for p in kept],
            label="accuracy of the kept cases",
            **steps,
        )
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence threshold t", title=title)
        ax.set(ylabel="share of cases / accuracy")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
