"""Runs the notebooks under notebooks/ top to bottom and saves them with their outputs, so what
they show is what this run printed: each in a fresh kernel (nbclient, ipykernel from
requirements-dev.txt), in a fresh temporary data directory, offline on the built-in model.

    python scripts/run_notebooks.py                    # every notebook
    python scripts/run_notebooks.py usage.ipynb        # one

A notebook is saved only when no output names the temporary directory, this machine's home,
or looks like a key: outputs are committed."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT_S = 600  # the usage notebook's first cell builds the demo: minutes on a slow machine
SECRET = re.compile(r"\b(?:sk|wb)_[A-Za-z0-9_-]{16,}")  # an OpenAI-style or a workbench API key


def execute(path: Path, data_dir: Path, timeout: int = CELL_TIMEOUT_S) -> nbformat.NotebookNode:
    """`path` run top to bottom in a new kernel whose workbench data lives in `data_dir`; a
    cell that raises stops it with nbclient's CellExecutionError."""
    book = nbformat.read(path, as_version=4)
    env = {"WORKBENCH_DATA_DIR": str(data_dir), "WORKBENCH_SECRETS_FILE": str(data_dir / "secrets.toml")}
    saved = {k: os.environ.get(k) for k in (*env, "DATABASE_URL")}
    os.environ.update(env)  # the kernel starts with this process's environment
    os.environ.pop("DATABASE_URL", None)
    try:
        # coalesce_streams: a streamed reply is saved as one output, not one per delta.
        NotebookClient(book, timeout=timeout, kernel_name="python3", coalesce_streams=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return book


def problems(book: nbformat.NotebookNode, private: list[str]) -> list[str]:
    """Outputs that must not be committed: a private path, or what looks like a key."""
    found = []
    for n, cell in enumerate(book.cells, 1):
        for output in cell.get("outputs", []):
            text = json.dumps(output)
            found += [f"cell {n}: mentions {p}" for p in private if p in text]
            found += [f"cell {n}: looks like a key ({m[:8]}…)" for m in SECRET.findall(text)]
    return found


def main(names: list[str]) -> int:
    paths = [NOTEBOOKS / n for n in names] if names else sorted(NOTEBOOKS.glob("*.ipynb"))
    failed = 0
    for path in paths:
        with tempfile.TemporaryDirectory(prefix="wb-notebook-") as tmp:
            started = time.perf_counter()
            book = execute(path, Path(tmp) / "data")
            bad = problems(book, [tmp, str(Path.home()), str(ROOT)])
        if bad:
            print(f"{path.name}: not saved, " + "; ".join(bad), file=sys.stderr)
            failed += 1
            continue
        nbformat.write(book, path)
        print(f"{path.name}: ran in {time.perf_counter() - started:.0f} s, saved with its outputs")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
