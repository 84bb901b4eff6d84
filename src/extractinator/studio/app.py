"""The studio's app factory: routes per page, the guards, templates and static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ..errors import ExtractinatorError
from ..reports.html import TEMPLATES as REPORT_TEMPLATES
from ..reports.html import make_env
from .jobs import EngineFactory, JobConflict, JobManager
from .security import LOOPBACK, MAX_UPLOAD_BYTES, Workdir, install_guards, token_problem

HERE = Path(__file__).parent


def create_app(
    workdir: str | Path,
    token: str | None = None,
    *,
    allowed_hosts: frozenset[str] | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    engine_factory: EngineFactory | None = None,
) -> FastAPI:
    """The studio over ``workdir`` (the only folder it reads and writes).

    ``token``: required on every request when set (the CLI sets one when binding to another
    address than loopback). ``allowed_hosts``: Host header names accepted (the CLI passes
    the loopback names when bound to loopback, against DNS rebinding). ``engine_factory``:
    builds the engine for a run (tests pass a fake; default: the configured engine, the
    embedded model kept loaded between runs)."""
    from .routes import data, evaluate, home, results, review, runs, tasks

    problem = token_problem(token)
    if problem is not None:
        raise ExtractinatorError(problem)
    root = Workdir(workdir)
    if not root.root.is_dir():
        raise ExtractinatorError(f"{root.root}: the studio folder does not exist")
    app = FastAPI(title="extractinator studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.workdir = root
    app.state.jobs = JobManager(engine_factory)
    app.state.max_upload = max_upload_bytes
    app.state.templates = Jinja2Templates(env=make_env(HERE / "templates"))
    install_guards(app, token=token, allowed_hosts=allowed_hosts, max_upload=max_upload_bytes)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/static-shared/case.css", include_in_schema=False)
    def case_css() -> Response:
        return FileResponse(REPORT_TEMPLATES / "case.css", media_type="text/css")

    @app.exception_handler(ExtractinatorError)
    async def _one_line(request: Request, exc: ExtractinatorError) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(JobConflict)
    async def _conflict(request: Request, exc: JobConflict) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    for module in (home, tasks, data, runs, results, review, evaluate):
        app.include_router(module.router)
    app.router.on_shutdown.append(app.state.jobs.close)
    return app


def loopback_hosts() -> frozenset[str]:
    """Host names a loopback-bound studio answers to."""
    return frozenset(LOOPBACK | {"[::1]"})
