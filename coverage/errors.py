"""Public exception and warning classes.

Every error raised on bad user input is one of these. Messages name the file, the row
and/or column involved, and how to fix the problem. The CLI prints the message on one
line and exits with a non-zero status (a traceback only with ``--debug``).
"""

from __future__ import annotations

__all__ = [
    "BrowserError",
    "CRSError",
    "CoordinateError",
    "CoverageError",
    "CoverageWarning",
    "DataWarning",
    "InfeasibleError",
    "InputFileError",
    "NetworkError",
    "OfflineAssetError",
    "OutputExistsError",
    "ParameterError",
    "SnapWarning",
    "SolverError",
    "format_problems",
]


class CoverageError(ValueError):
    """Base class of every error this package raises on bad input or parameters."""


class InputFileError(CoverageError):
    """An input file is missing, empty, unreadable or has the wrong columns."""


class CoordinateError(InputFileError):
    """Coordinates are missing, not numeric, out of range or swapped."""


class CRSError(CoverageError):
    """A coordinate reference system is missing, unknown or mismatched."""


class NetworkError(CoverageError):
    """A road network cannot be read or has no walkable roads."""


class ParameterError(CoverageError):
    """A parameter value is out of range or inconsistent with the others."""


class InfeasibleError(CoverageError):
    """An optimisation problem has no feasible solution under its constraints."""


class SolverError(CoverageError):
    """The solver stopped without a usable answer (time limit, numerical trouble)."""


class OutputExistsError(CoverageError, FileExistsError):
    """An output file exists already and ``overwrite`` was not given."""


class OfflineAssetError(CoverageError):
    """A page needs a script, stylesheet, image or font that is not shipped (or is corrupt)."""


class BrowserError(CoverageError, RuntimeError):
    """Chromium is missing, failed, timed out or the page could not be checked."""


class CoverageWarning(UserWarning):
    """Base class of the warnings this package emits."""


class DataWarning(CoverageWarning):
    """Input data was usable but suspicious (duplicates, missing values, ...)."""


class SnapWarning(CoverageWarning):
    """Points lie far from the roads (unreachable, or a likely wrong coordinate system)."""


def format_problems(source: str, problems: list[str], fix: str, *, limit: int = 10) -> str:
    """Join a list of problems found in ``source`` into one readable message.

    Parameters
    ----------
    source
        The file (or layer) the problems were found in.
    problems
        One string per problem, each naming its row and/or column.
    fix
        What the user should do about it.
    limit
        Show at most this many problems and count the rest.

    Returns
    -------
    str
        ``"<source>: <n> problem(s): p1; p2; ... Fix: <fix>"``.
    """
    shown = problems[:limit]
    more = len(problems) - len(shown)
    text = "; ".join(shown)
    if more > 0:
        text += f"; ... and {more} more"
    noun = "problem" if len(problems) == 1 else "problems"
    return f"{source}: {len(problems)} {noun}: {text}. Fix: {fix}"
