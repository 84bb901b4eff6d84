"""``extractinator report OUTDIR``: one self-contained HTML file with a run's results (every
case, its report text with highlighted grounded spans and evidence, probabilities, raw
output of failures) and, with labels, the evaluation. No external assets: the CSS and a
little filter script are inlined, plots are embedded as data URIs.

Templates are rendered with jinja2 autoescape on; the studio uses the same per-case macros
(``templates/_case.html``) through :func:`configure_env`.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).parent / "templates"
INSTALL_HINT = "the HTML report needs jinja2: pip install 'extractinator[report]'"
N_COLORS = 8


def color_of(label: Any) -> str:
    """A stable colour class (c0..c7) for a span label."""
    digest = hashlib.sha256(str(label).encode("utf-8")).digest()
    return f"c{digest[0] % N_COLORS}"


def pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def conf_class(value: float | None) -> str:
    if value is None:
        return ""
    return "high" if value >= 0.9 else "mid" if value >= 0.6 else "low"


def configure_env(env: Any) -> Any:
    """Add the helpers the shared templates use to a jinja2 Environment."""
    env.globals.update(color_of=color_of, pct=pct, num=num, conf_class=conf_class)
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "ensure_ascii": False}
    return env


def make_env(*extra_dirs: Path) -> Any:
    """A jinja2 Environment (autoescape on) over ``extra_dirs`` and the shared templates."""
    try:
        import jinja2
    except ImportError:  # pragma: no cover - jinja2 comes with the report/studio extras
        from ..errors import ConfigError

        raise ConfigError(INSTALL_HINT) from None
    loader = jinja2.FileSystemLoader([*map(str, extra_dirs), str(TEMPLATES)])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    return configure_env(env)


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def render_report(
    run_dir: str | Path,
    labels: str | Path | None = None,
    *,
    label_prefix: str = "",
    plots_dir: Path | None = None,
    texts: bool = True,
    paths: bool = True,
    allowed: Callable[[Path], bool] | None = None,
) -> str:
    """The HTML text of the report (plots are written to ``plots_dir`` or a temporary
    folder, then embedded). ``texts=False`` leaves out the report texts and everything
    quoted from them (evidence quotes, marked passages, raw model output); ``paths=False``
    leaves out file paths (model, data); ``allowed``: the data file the manifest names is
    read only when it passes (the studio: inside its folder)."""
    from .casesview import load_run_view
    from .evalview import evaluation_view

    view = load_run_view(run_dir, allowed=allowed)
    if not paths:
        view.notes = [n for n in view.notes if "/" not in n and "\\" not in n]
    env = make_env()
    anchors = {c.id: i for i, c in enumerate(view.cases)}
    with tempfile.TemporaryDirectory(prefix="extractinator-report-") as tmp:
        ev = None
        if labels is not None:
            out = plots_dir or Path(tmp)
            ev = evaluation_view(Path(run_dir), Path(labels), out, label_prefix=label_prefix)
        return env.get_template("report.html").render(
            view=view,
            ev=ev,
            css=(TEMPLATES / "case.css").read_text(encoding="utf-8"),
            script=(TEMPLATES / "report.js").read_text(encoding="utf-8"),
            plot_src=data_uri,
            case_href=lambda c: f"#case-{anchors[c.id]}",
            generated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            counts=_counts(view),
            texts=texts,
            model=_model_name(view.manifest, paths),
        )


def _model_name(manifest: dict[str, Any], paths: bool) -> str:
    engine = manifest.get("engine") or {}
    name = str(engine.get("model_path") or engine.get("model") or manifest.get("model_id") or "")
    return name if paths else Path(name).name


def _counts(view: Any) -> dict[str, int]:
    ok = sum(c.record.ok for c in view.cases)
    return {"cases": len(view.cases), "ok": ok, "failed": len(view.cases) - ok}


def write_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    labels: str | Path | None = None,
    *,
    label_prefix: str = "",
) -> Path:
    """Write the report (default ``RUN_DIR/report.html``) and return its path."""
    path = Path(out) if out is not None else Path(run_dir) / "report.html"
    html = render_report(run_dir, labels, label_prefix=label_prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
