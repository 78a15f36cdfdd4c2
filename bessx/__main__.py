"""``python -m bessx``: the ``bessx`` command (see :mod:`bessx.cli`)."""

from __future__ import annotations

from bessx.cli import main
from bessx.errors import ignore_terminating

if __name__ == "__main__":  # guarded: dask worker processes import this module
    code = main()
    ignore_terminating()  # done: a late SIGTERM has nothing left to stop
    raise SystemExit(code)
