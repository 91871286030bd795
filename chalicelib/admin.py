"""``python -m chalicelib.admin``: the admin CLI's name operators type (the CLI is chalicelib.entrypoints.admin)."""
import sys

from chalicelib.entrypoints.admin import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    sys.exit(main())
