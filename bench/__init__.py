"""Benchmarks of bessx against the usual alternatives (``python -m bench``).

Not part of the installed package: run from a clone. ``bench.approaches`` holds the
implementations, ``bench.child`` runs one of them in a fresh process, ``bench.data`` writes
and caches the synthetic plant, ``bench.runner`` times, checks and reports. See
``docs/performance.md``.
"""
