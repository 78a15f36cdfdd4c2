"""The day plan and the day-block driver that daily energy, quality and health share."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
from dask.base import is_dask_collection

from bessx.dayblocks import day_plan, map_day_blocks, used_slots
from bessx.testing import make_dataset, raise_if_dask_computes


def _plant(chunks: int | None = None):
    # 3 local days in Sydney (no DST change), hourly, 2 inverters x 1 DC input, 2 enclosures
    time = pd.date_range("2022-11-01 00:00", periods=72, freq="h", tz="Australia/Sydney")
    power = np.arange(72 * 2, dtype=np.float64).reshape(72, 2, 1)
    return make_dataset(time, power, n_enclosures=2, interval_seconds=3600.0, chunks=chunks)


def _sums(power, day_index, day_seconds, used, hold_seconds, meter, **options):
    """Per day: the sum of power x hold [kWh] and of a per-sample meter, on every slot."""
    n_days = len(day_seconds)
    energy = np.zeros((n_days, *power.shape[1:]))
    metered = np.zeros(n_days)
    np.add.at(energy, day_index, power * hold_seconds[:, None, None] / 3600.0)
    np.add.at(metered, day_index, meter)
    out = np.empty((2, n_days, *power.shape[1:], used.shape[-1]))
    out[0] = energy[..., None] * used
    out[1] = metered[:, None, None, None] * used
    return out


@pytest.mark.parametrize("lazy_meter", [False, True])
def test_a_per_sample_array_may_be_dask_and_stays_lazy(lazy_meter: bool) -> None:
    eager_ds, lazy_ds = _plant(), _plant(chunks=10)  # chunks that split days
    meter = np.linspace(0.0, 1.0, 72)
    expected = map_day_blocks(
        _sums,
        eager_ds["dc_power"].data,
        None,
        day_plan(eager_ds, 3.0),
        (day_plan(eager_ds, 3.0).hold_seconds, meter),
        n_quantities=2,
        name="test-sums",
        token=(),
    )
    plan = day_plan(lazy_ds, 3.0)
    per_sample = (plan.hold_seconds, da.from_array(meter, chunks=7) if lazy_meter else meter)
    with raise_if_dask_computes():
        result = map_day_blocks(
            _sums,
            lazy_ds["dc_power"].data,
            None,
            plan,
            per_sample,
            n_quantities=2,
            name="test-sums",
            token=(),
        )
        assert is_dask_collection(result)
    assert result.chunks[1] == (1, 1, 1)  # one block per whole local day here
    np.testing.assert_allclose(result.compute(), expected, rtol=1e-12)
    # hand-computed: day 0 holds samples 0-23, power 2 i (+ 1 on inverter 2), 1 h each
    assert expected[0, 0, 0, 0, 0] == sum(2.0 * i for i in range(24))
    np.testing.assert_allclose(
        expected[1, :, 0, 0, 0], [meter[d * 24 : d * 24 + 24].sum() for d in range(3)]
    )


def test_a_dask_meter_alone_takes_the_dask_path() -> None:
    ds = _plant()
    plan = day_plan(ds, 3.0)
    result = map_day_blocks(
        _sums,
        ds["dc_power"].data,
        None,
        plan,
        (plan.hold_seconds, da.from_array(np.ones(72), chunks=24)),
        n_quantities=2,
        name="test-sums",
        token=(),
    )
    assert is_dask_collection(result)
    np.testing.assert_allclose(result.compute()[1, :, 0, 0, 0], [24.0, 24.0, 24.0])


def test_used_slots_names_who_needs_them() -> None:
    ds = _plant().drop_vars(["n_enclosures", "enclosure_id"], errors="ignore")
    with pytest.raises(ValueError, match=r"^health needs an 'enclosure_id' or 'n_enclosures'"):
        used_slots(ds, "health")
    assert used_slots(_plant()).dims == ("inverter", "dc_input", "enclosure")


def test_daily_energy_works_out_its_day_plan_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    # by their modules: the package attribute bessx.quality is the public function
    energy = importlib.import_module("bessx.energy")
    quality = importlib.import_module("bessx.quality")
    calls = []

    def counted(ds, max_gap):
        calls.append(max_gap)
        return day_plan(ds, max_gap)

    for module in (energy, quality):
        monkeypatch.setattr(module, "day_plan", counted)
    daily = energy.daily_energy(_plant(chunks=10), max_gap=2.0)
    assert calls == [2.0], "the quality flags are counted on the energy's plan"
    assert int(daily["quality_flags"].sum()) == 0
