"""bessx under dask.distributed: a real LocalCluster with worker processes."""

from __future__ import annotations

import dask
import pytest
import xarray as xr

import bessx
from bessx import synthetic

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.parametrize("engine", ["polars", "pyarrow"])
@pytest.mark.parametrize("allocation", ["equal", "soc"])
def test_cluster_results_are_bit_identical_to_threads(tmp_path_factory, client, engine, allocation):
    folder = tmp_path_factory.mktemp(f"plant-{engine}-{allocation}")
    synthetic.write_plant(folder, start="2023-04-01", days=3, inverters=6, seed=3)
    with pytest.warns(bessx.ExportWarning):
        ds = bessx.open_exports(folder, engine=engine, timezone=synthetic.TIMEZONE)
    daily = ds.bess.daily_energy(allocation=allocation)
    with distributed.get_task_stream(client) as tasks:
        on_cluster = daily.compute()
    assert tasks.data, "the cluster's worker processes did the work"
    threads = daily.compute(scheduler="threads")
    xr.testing.assert_identical(on_cluster, threads)
    assert on_cluster.discharged.notnull().any()


def test_one_pass_reads_the_files_on_the_workers(tmp_path_factory, client):
    from bessx.onepass import daily_from_exports

    folder = tmp_path_factory.mktemp("plant-onepass")
    synthetic.write_plant(folder, start="2023-04-01", days=3, inverters=6, seed=5)
    with pytest.warns(bessx.ExportWarning), distributed.get_task_stream(client) as tasks:
        daily, flags = daily_from_exports(folder, allocation="soc", timezone=synthetic.TIMEZONE)
    names = {
        task["key"][0] if isinstance(task["key"], tuple) else task["key"] for task in tasks.data
    }
    assert any("summarise" in str(name) for name in names), names
    with pytest.warns(bessx.ExportWarning), dask.config.set(scheduler="threads"):
        local = daily_from_exports(folder, allocation="soc", timezone=synthetic.TIMEZONE)
    xr.testing.assert_identical(daily.assign_attrs(history=""), local[0].assign_attrs(history=""))
    xr.testing.assert_identical(flags.assign_attrs(history=""), local[1].assign_attrs(history=""))
