"""Readers for published location benchmark instances (validation and benchmarks).

* OR-Library p-median ``pmedN.txt`` (Beasley 1985): ``n m p`` then ``m`` undirected
  edges ``i j cost`` (1-based). **Duplicate edges: the last occurrence wins** (this is
  how the published optima were computed). Costs are all-pairs shortest paths.
* OR-Library set covering ``scpNN.txt`` (Beasley 1987/1990): ``rows cols``, the column
  costs, then per row its number of covering columns and their 1-based indices.
* São José dos Campos MCLP points (``SJC*.txt``: ``n 9999 p S`` then ``x y demand``) and
  the Swain 55-node data (``id x y a``), Euclidean distances.

The files are not shipped with the package; pass their paths.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from ...engine.costs import CostTable
from ...errors import InputFileError

__all__ = [
    "read_mclp_points",
    "read_mclp_reference",
    "read_optima",
    "read_pmed",
    "read_scp",
]


def read_pmed(path: str | Path) -> tuple[CostTable, int]:
    """Read an OR-Library p-median instance as a dense cost table and its ``p``."""
    tok = Path(path).read_text().split()
    try:
        n, m, p = int(tok[0]), int(tok[1]), int(tok[2])
        e = np.asarray(tok[3 : 3 + 3 * m], dtype=np.int64).reshape(m, 3)
    except (IndexError, ValueError) as exc:
        raise InputFileError(f"{path}: not an OR-Library p-median file ({exc})") from exc
    i, j = np.minimum(e[:, 0], e[:, 1]) - 1, np.maximum(e[:, 0], e[:, 1]) - 1
    key = i * n + j
    # last occurrence wins: keep the last index of every key
    _, last = np.unique(key[::-1], return_index=True)
    sel = len(key) - 1 - last
    g = sp.csr_matrix((e[sel, 2].astype(float), (i[sel], j[sel])), shape=(n, n))
    d = shortest_path(g, method="D", directed=False)
    return CostTable.from_dense(d), p


def read_scp(path: str | Path) -> tuple[CostTable, np.ndarray]:
    """Read an OR-Library set-covering instance as a 0/1 cost table and column costs.

    Every row must be covered; coverage is ``dist_m <= 0`` (all stored distances are 0,
    ``cutoff_m = 0``).
    """
    tok = np.asarray(Path(path).read_text().split(), dtype=np.int64)
    rows, cols = int(tok[0]), int(tok[1])
    cost = tok[2 : 2 + cols].astype(float)
    pos = 2 + cols
    r_list, c_list = [], []
    for r in range(rows):
        k = int(tok[pos])
        c_list.append(tok[pos + 1 : pos + 1 + k] - 1)
        r_list.append(np.full(k, r, dtype=np.int64))
        pos += 1 + k
    if pos != len(tok):
        raise InputFileError(f"{path}: {len(tok) - pos} trailing numbers; not an scp file")
    r_arr, c_arr = np.concatenate(r_list), np.concatenate(c_list)
    ct = CostTable.from_entries(
        r_arr, c_arr, np.zeros(len(r_arr)), n_demand=rows, n_sites=cols, cutoff_m=0.0
    )
    return ct, cost


def read_mclp_points(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read SJC (``x y demand`` after a header line) or Swain (``id x y a``) points.

    Returns
    -------
    xy, demand
    """
    lines = [ln.split() for ln in Path(path).read_text().splitlines() if ln.strip()]
    body = lines[1:]
    if lines[0][0] == "id":
        arr = np.asarray([row[1:4] for row in body], dtype=float)
    else:
        arr = np.asarray([row[:3] for row in body], dtype=float)
    return arr[:, :2], arr[:, 2]


def read_mclp_reference(path: str | Path) -> list[tuple[str, float, int, float]]:
    """Rows ``(instance, S, p, optimal covered demand)`` of a reference-optima file."""
    out = []
    for ln in Path(path).read_text().splitlines():
        if not ln.strip() or ln.startswith("#"):
            continue
        f = ln.split("\t")
        out.append((f[0], float(f[1].split("=")[1]), int(f[2].split("=")[1]), float(f[3])))
    return out


def read_optima(path: str | Path) -> dict[str, float]:
    """``pmedopt.txt`` / ``optima_scp.tsv``: instance name → optimal value."""
    out: dict[str, float] = {}
    for ln in Path(path).read_text().splitlines()[1:]:
        f = ln.split()
        if len(f) >= 2:
            out[f[0]] = float(f[1])
    return out
