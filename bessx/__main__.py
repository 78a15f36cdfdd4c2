"""``python -m bessx``: the ``bessx`` command (see :mod:`bessx.cli`)."""

from __future__ import annotations

from bessx.cli import main

if __name__ == "__main__":  # guarded: dask worker processes import this module
    raise SystemExit(main())
