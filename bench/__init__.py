"""Benchmarks of bessx against the usual alternatives (``python -m bench``).

Not part of the installed package: run from a clone. ``bench.approaches`` holds the
implementations, ``bench.child`` runs one of them in a fresh process, ``bench.processes``
times whole commands (``bessx run`` cold, warm and with one new day, the polars pipeline of
``bench.polars_pipeline``, imports), ``bench.data`` writes and caches the synthetic plant,
``bench.runner`` times, checks and reports, ``bench.report`` turns a suite's results into
Markdown tables. See ``docs/performance.md``.
"""
