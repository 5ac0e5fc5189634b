"""`python -m workbench ...`: the terminal commands (workbench/cli)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
