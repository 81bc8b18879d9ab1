"""The `eolneeds` command (and `python -m eolneeds`).

The command line lives in eolneeds.cli; this wrapper only guards its import. Importing
the CLI takes a few hundred milliseconds (typer, rich, duckdb), and a Ctrl-C in that
window would otherwise end in a Python traceback instead of the one line every other
interruption gets.
"""

from __future__ import annotations

import sys

from eolneeds.errors import INTERRUPTED_MESSAGE, ExitCode


def main() -> None:
    try:
        from eolneeds.cli import main as run_cli
    except KeyboardInterrupt:
        sys.stderr.write(INTERRUPTED_MESSAGE + "\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    run_cli()


if __name__ == "__main__":
    main()
