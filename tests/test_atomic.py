"""Tests of atomic output (coverage.publish.atomic)."""

from __future__ import annotations

import os

import pytest

from coverage.errors import OutputExistsError
from coverage.publish.atomic import atomic_path, atomic_write_bytes, atomic_write_text


def test_write_text_and_bytes(tmp_path) -> None:
    p = atomic_write_text(tmp_path / "a.txt", "养老 ok\n")
    assert p.read_text(encoding="utf-8") == "养老 ok\n"
    q = atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01")
    assert q.read_bytes() == b"\x00\x01"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_exists_without_overwrite(tmp_path) -> None:
    p = atomic_write_text(tmp_path / "a.txt", "old")
    with pytest.raises(OutputExistsError, match=r"a\.txt.*Fix: pass --overwrite"):
        atomic_write_text(p, "new")
    with pytest.raises(FileExistsError):  # OutputExistsError is a FileExistsError too
        with atomic_path(p, overwrite=False):
            pass
    assert p.read_text() == "old"
    atomic_write_text(p, "new", overwrite=True)
    assert p.read_text() == "new"


def test_failure_leaves_previous_file(tmp_path) -> None:
    p = atomic_write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(p, overwrite=True) as tmp:
            assert tmp.parent == p.parent and tmp != p
            tmp.write_text("half-written")
            raise RuntimeError("boom")
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]  # temp file removed


def test_failure_creates_nothing(tmp_path) -> None:
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "new.html", overwrite=False) as tmp:
            tmp.write_text("x")
            raise ValueError
    assert list(tmp_path.iterdir()) == []


def test_temp_keeps_suffix_and_mode(tmp_path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("old")
    os.chmod(p, 0o644)
    with atomic_path(p, overwrite=True) as tmp:
        assert tmp.suffix == ".csv"
        tmp.write_text("new")
    assert p.read_text() == "new"
    assert p.stat().st_mode & 0o777 == 0o644


def test_bad_targets(tmp_path) -> None:
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path, "x", overwrite=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_text(tmp_path / "missing" / "a.txt", "x")
