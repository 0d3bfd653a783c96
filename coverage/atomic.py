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
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputExistsError

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "check_writable"]

logger = logging.getLogger(__name__)


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
            "Fix: pass overwrite=True / --overwrite to replace it, or choose another name."
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
                "Fix: pass overwrite=True / --overwrite to replace it, or choose another name."
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
