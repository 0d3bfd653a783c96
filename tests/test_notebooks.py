"""The worked notebooks in notebooks/: they run top to bottom, and they are stored executed.

Every notebook runs on the embedded default data (07 on the files ``coverage data`` writes,
read back from disk). The stored copies carry their outputs (tables, map previews as PNG)
so that they show the results when opened; the outputs hold no absolute paths, no
execution timestamps and no inline interactive maps. Refresh them after a change with::

    .venv/bin/python tests/test_notebooks.py          # executes every notebook and stores it
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
MAX_BYTES = 1_000_000  # a stored notebook stays small: PNG previews, no 5 MB inline maps
#: what must not appear in a stored output: absolute paths of this machine, temporary folders
_ABSOLUTE = re.compile(r"(/tmp/|/work/|/home/|/root/|[A-Za-z]:\\\\|/private/var/|/Users/)")


def execute(path: Path, cwd: Path):
    """Run a notebook in ``cwd`` and return it with its outputs (no timing metadata)."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                                     resources={"metadata": {"path": str(cwd)}})  # fmt: skip
    client.execute()
    return nb


def _outputs(nb) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _texts(output: dict) -> list[str]:
    data = output.get("data", {})
    texts = [output.get("text", "")] + [data.get(k, "") for k in ("text/plain", "text/html", "text/markdown")]
    return ["".join(t) if isinstance(t, list) else str(t) for t in texts]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    nb = execute(path, tmp_path)
    errors = [o for o in _outputs(nb) if o.get("output_type") == "error"]
    assert not errors, errors[0] if errors else None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_notebook_shows_its_results(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes; keep map previews small"
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), f"{path.name} is stored unexecuted: run tests/test_notebooks.py"
    outs = _outputs(nb)
    kinds = {k for o in outs for k in o.get("data", {})}
    assert "image/png" in kinds, f"{path.name}: no map preview"
    assert "text/html" in kinds, f"{path.name}: no table"
    assert not [o for o in outs if o.get("output_type") == "error"]
    for o in outs:
        for text in _texts(o):
            assert not _ABSOLUTE.search(text), f"{path.name}: an absolute path in a stored output: {_ABSOLUTE.search(text)[0]!r}"
            assert "leaflet" not in text.lower(), f"{path.name}: an inline interactive map"
    assert all("execution" not in c.get("metadata", {}) for c in code), f"{path.name}: execution timestamps stored"
    markdown = "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"[\u4e00-\u9fff]{8}", markdown) and re.search(r"[A-Za-z]{4,} [a-z]{3,} [a-z]{3,}", markdown), (
        f"{path.name}: explain in Chinese and English"
    )


def _store() -> None:
    """Execute every notebook (in a scratch folder) and store it with its outputs."""
    import nbformat

    for path in NOTEBOOKS:
        with tempfile.TemporaryDirectory() as tmp:
            nb = execute(path, Path(tmp))
        for cell in nb.cells:
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(nb, path)
        print(f"{path.name}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    sys.exit(_store())
