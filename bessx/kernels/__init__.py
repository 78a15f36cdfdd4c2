"""numpy kernels: functions of plain arrays with time on axis 0, no labels, no dask.

Nothing here imports xarray, pandas or dask (a test checks it in a fresh interpreter); the
xarray layer above (:mod:`bessx.energy`, :mod:`bessx.quality`, :mod:`bessx.health`,
:mod:`bessx.availability`, :mod:`bessx.guarantees`) gives the kernels their labels, and the
one pass (:mod:`bessx.onepass`) calls them on each export file's columns.

* :mod:`bessx.kernels.days`: runs of equal days, sums per day sample after sample,
  day-aligned chunks;
* :mod:`bessx.kernels.energy`: power and SOC sums per day, the allocation registry;
* :mod:`bessx.kernels.flags`: the data-quality flag registry and the per-sample flags;
* :mod:`bessx.kernels.plausibility`: what cannot be physical;
* :mod:`bessx.kernels.health`, :mod:`bessx.kernels.availability`,
  :mod:`bessx.kernels.guarantees`: the battery health's, the availability's and the
  guarantees' kernels.
"""
