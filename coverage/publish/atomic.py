"""Atomic output: a file is either fully written or left as it was.

Every writer goes through :func:`atomic_path`, which hands out a temporary path in the
target's directory (so the final :func:`os.replace` never crosses a file system) and moves
it onto the target only when the ``with`` block finishes without an exception. On error the
temporary file is removed and an existing target is left untouched.

Examples
--------
>>> with atomic_path("report.xlsx", overwrite=True) as tmp:  # doctest: +SKIP
...     frame.to_excel(tmp)
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..errors import OutputExistsError

__all__ = [
    "OutputSet",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_outputs",
    "check_writable",
    "final_path",
    "output_set",
    "writes_output_set",
]

logger = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])

#: output sets being written in this context, innermost last
_ACTIVE: contextvars.ContextVar[tuple[OutputSet, ...]] = contextvars.ContextVar("coverage_output_sets", default=())


def check_writable(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Check that ``path`` may be written and return it as a :class:`~pathlib.Path`.

    Parameters
    ----------
    path
        The output file.
    overwrite
        Whether an existing file may be replaced.

    Returns
    -------
    pathlib.Path
        ``path`` as a path object.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    IsADirectoryError
        If ``path`` is a directory.
    FileNotFoundError
        If the directory that should hold ``path`` does not exist.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(
            f"{target}: is a directory, not an output file. Fix: give a file name."
        )
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{target}: the output file exists already. "
            "Fix: pass --overwrite (overwrite=True in Python) to replace it, or choose another name."
        )
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"{target}: the output directory {parent} does not exist. Fix: create it first."
        )
    return target


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path that replaces ``path`` when the block succeeds.

    The temporary file is created (empty) in the same directory as ``path`` with a name
    ending in the target's suffix, so writers that look at the extension still work. When
    the ``with`` block exits normally the temporary file is moved onto ``path`` with
    :func:`os.replace` (atomic on POSIX and Windows); when it raises, the temporary file is
    deleted, ``path`` keeps its previous content and the exception propagates.

    Parameters
    ----------
    path
        The final output file.
    overwrite
        Whether an existing ``path`` may be replaced. Checked before the block runs and
        again just before the move.

    Yields
    ------
    pathlib.Path
        The temporary path to write to.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    target = check_writable(path, overwrite=overwrite)
    parent = target.parent if str(target.parent) else Path(".")
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if target.exists() and not overwrite:
            raise OutputExistsError(
                f"{target}: the output file appeared while it was being written. "
                "Fix: pass --overwrite (overwrite=True in Python) to replace it, or choose another name."
            )
        _copy_mode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    logger.debug("wrote %s", target)


def _copy_mode(target: Path, tmp: Path) -> None:
    """Give ``tmp`` the permissions ``target`` has (or the umask default for a new file).

    :func:`tempfile.mkstemp` creates files readable by the owner only; a replaced output
    should keep its mode and a new one should get the usual ``0o666 & ~umask``.
    """
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    with contextlib.suppress(OSError):
        os.chmod(tmp, mode)


def atomic_write_bytes(
    path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False
) -> Path:
    """Write ``data`` to ``path`` atomically.

    Parameters
    ----------
    path
        The output file.
    data
        The bytes to write.
    overwrite
        Whether an existing file may be replaced.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    with atomic_path(path, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, overwrite: bool = False, encoding: str = "utf-8"
) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, newlines written as given).

    Parameters
    ----------
    path
        The output file.
    text
        The text to write.
    overwrite
        Whether an existing file may be replaced.
    encoding
        Text encoding (default UTF-8).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    OutputExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    return atomic_write_bytes(path, text.encode(encoding), overwrite=overwrite)


# --------------------------------------------------------------------------- output sets
class OutputSet:
    """An all-or-nothing set of output files, staged beside their destination.

    Writers write into :meth:`path` (a staging folder that mirrors the destination tree,
    created inside the nearest existing common ancestor of the targets, so relative links
    between outputs hold in the staging folder as they will in place). :meth:`commit`
    checks every file against ``overwrite`` before it moves any, then moves them into
    place, backing up the files it replaces; if a move fails the backups are put back, so
    the destination is either the whole new set or exactly as it was. Use it through
    :func:`output_set`.
    """

    def __init__(self, targets: list[Path], *, overwrite: bool) -> None:
        self.overwrite = overwrite
        self.targets = [Path(os.path.abspath(t)) for t in targets]
        self.anchor = _existing_ancestor(Path(os.path.commonpath([str(t.parent) for t in self.targets])))
        if not os.access(self.anchor, os.W_OK | os.X_OK):
            raise FileNotFoundError(
                f"{self.anchor}: cannot write the outputs here (no write permission). "
                "Fix: choose output paths in a folder you can write to (--out, --map)."
            )
        self.stage = Path(tempfile.mkdtemp(prefix=".coverage-staging-", dir=self.anchor))

    def path(self, target: str | os.PathLike[str]) -> Path:
        """The staging path of ``target`` (a file or folder inside the set)."""
        absolute = Path(os.path.abspath(target))
        try:
            rel = absolute.relative_to(self.anchor)
        except ValueError:
            raise ValueError(f"{target} is not inside the output set rooted at {self.anchor}") from None
        staged = self.stage / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def final(self, staged: str | os.PathLike[str]) -> Path:
        """The destination of a staging path (other paths are returned unchanged)."""
        p = Path(os.path.abspath(staged))
        for stage in (self.stage, self.stage.resolve()):
            with contextlib.suppress(ValueError):
                return self.anchor / p.relative_to(stage)
        return Path(staged)

    def _staged_files(self) -> tuple[list[Path], list[Path]]:
        files, dirs = [], []
        for root, dnames, fnames in os.walk(self.stage):
            r = Path(root)
            dirs.extend(r / d for d in sorted(dnames))
            files.extend(r / f for f in sorted(fnames))
        return files, dirs

    def check(self) -> None:
        """Raise before anything moves if a staged file may not replace its destination
        (the same checks as :func:`check_outputs`, on the files actually staged)."""
        files, _dirs = self._staged_files()
        check_outputs([self.final(f) for f in files], overwrite=self.overwrite)

    def commit(self) -> list[Path]:
        """Move every staged file into place (all or nothing); returns the destinations."""
        try:
            self.check()
        except BaseException:
            self.abort()
            raise
        files, dirs = self._staged_files()
        created: list[Path] = []
        moved: list[tuple[Path, Path | None]] = []  # (destination, backup or None)
        backup_root = Path(tempfile.mkdtemp(prefix=".coverage-backup-", dir=self.anchor))
        try:
            for d in dirs:
                dest = self.final(d)
                for p in reversed([dest, *dest.parents]):
                    if not p.exists():
                        p.mkdir()
                        created.append(p)
            for i, f in enumerate(files):
                dest = self.final(f)
                backup = None
                if dest.exists():
                    backup = backup_root / f"{i}{dest.suffix}"
                    os.replace(dest, backup)
                moved.append((dest, backup))
                os.replace(f, dest)
        except BaseException:
            for dest, backup in reversed(moved):
                with contextlib.suppress(OSError):
                    if backup is not None:
                        os.replace(backup, dest)
                    else:
                        dest.unlink(missing_ok=True)
            for p in reversed(created):
                with contextlib.suppress(OSError):
                    p.rmdir()
            raise
        finally:
            shutil.rmtree(backup_root, ignore_errors=True)
            shutil.rmtree(self.stage, ignore_errors=True)
        logger.debug("committed %d output files", len(moved))
        return [dest for dest, _ in moved]

    def abort(self) -> None:
        """Drop everything staged; the destination is left exactly as it was."""
        shutil.rmtree(self.stage, ignore_errors=True)


def _existing_ancestor(path: Path) -> Path:
    p = Path(os.path.abspath(path))
    while not p.exists():
        p = p.parent
    if not p.is_dir():
        raise OutputExistsError(f"{p}: a file stands where an output folder should be. Fix: choose another output folder.")
    return p


def check_outputs(
    files: Iterator[str | os.PathLike[str]] | list[str | os.PathLike[str]], *, overwrite: bool
) -> None:
    """Check output files before any work: none may exist unless ``overwrite``, none may be
    a folder, and each must be creatable (its nearest existing ancestor a writable folder).

    Raises
    ------
    OutputExistsError
        For the first existing file when ``overwrite`` is False (the message counts them).
    """
    existing = []
    for f in files:
        target = Path(f)
        if target.is_dir():
            raise IsADirectoryError(f"{target}: is a directory, not an output file. Fix: give a file name.")
        anchor = _existing_ancestor(target.parent)
        if not os.access(anchor, os.W_OK | os.X_OK):
            raise FileNotFoundError(f"{target}: cannot write into {anchor} (no write permission). Fix: choose another output folder.")
        if target.exists() and not overwrite:
            existing.append(target)
    if existing:
        more = f" (and {len(existing) - 1} more output files)" if len(existing) > 1 else ""
        raise OutputExistsError(
            f"{existing[0]}: the output file exists already{more}. "
            "Fix: pass --overwrite (overwrite=True in Python) to replace the outputs, or choose another output folder."
        )


@contextlib.contextmanager
def output_set(
    targets: list[str | os.PathLike[str]],
    *,
    overwrite: bool,
    expected: list[str | os.PathLike[str]] | None = None,
) -> Iterator[OutputSet]:
    """Write a set of outputs all-or-nothing.

    Parameters
    ----------
    targets
        The folders and files the set writes (e.g. the output folder and a map file kept
        elsewhere); the staging folder goes in their nearest existing common ancestor.
    overwrite
        Whether existing files may be replaced (checked for every file before any moves).
    expected
        Files the set will write, checked before the block runs (so that a refusal comes
        before any work).

    Yields
    ------
    OutputSet
        Write to ``stage.path(target)``; on a normal exit the staged files move into
        place, on an exception nothing does and the staging folder is removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with output_set([d / "out"], overwrite=False) as stage:
    ...     _ = (stage.path(d / "out" / "a.txt")).write_text("a")
    >>> sorted(p.name for p in (d / "out").iterdir())
    ['a.txt']
    >>> try:
    ...     with output_set([d / "out"], overwrite=True) as stage:
    ...         _ = (stage.path(d / "out" / "a.txt")).write_text("new")
    ...         raise RuntimeError("the last writer failed")
    ... except RuntimeError:
    ...     pass
    >>> (d / "out" / "a.txt").read_text()
    'a'
    """
    if expected:
        check_outputs(list(expected), overwrite=overwrite)
    stage = OutputSet([Path(t) for t in targets], overwrite=overwrite)
    token = _ACTIVE.set((*_ACTIVE.get(), stage))
    try:
        yield stage
    except BaseException:
        stage.abort()
        raise
    finally:
        _ACTIVE.reset(token)
    stage.commit()


def final_path(path: str | os.PathLike[str]) -> Path:
    """Where ``path`` will be once the output sets being written are committed.

    A staging path is translated through every active :func:`output_set` (innermost
    first); any other path is returned unchanged. Writers use it for links between outputs
    (a report linking its map) so that the links hold in place.
    """
    p = Path(path)
    for stage in reversed(_ACTIVE.get()):
        p = stage.final(p)
    return p


def writes_output_set(*path_params: str) -> Callable[[_F], _F]:
    """Make a writer all-or-nothing: its path arguments are staged and committed together.

    The decorated function's arguments named in ``path_params`` (an output folder, a map
    file kept elsewhere) are replaced by their staging paths (:class:`OutputSet`); when it
    returns, the set is committed (subject to its ``overwrite`` argument) and every path in
    its returned mapping is translated to its destination. When it raises, nothing is
    moved and the destination is exactly as before. Writers called inside another set
    (the CLI stages a whole command's outputs) commit into that set's staging folder.
    """

    def decorate(fn: _F) -> _F:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            overwrite = bool(bound.arguments.get("overwrite", False))
            given = {p: bound.arguments[p] for p in path_params if bound.arguments.get(p) is not None}
            with output_set(list(given.values()), overwrite=overwrite) as stage:
                for p, value in given.items():
                    bound.arguments[p] = stage.path(value)
                result = fn(*bound.args, **bound.kwargs)
                if isinstance(result, Mapping):
                    result = {k: (stage.final(v) if isinstance(v, str | os.PathLike) else v) for k, v in result.items()}
            return result

        return wrapper  # type: ignore[return-value]

    return decorate
