"""The one pass's per-file map gives the same results however it runs (bessx.onepass.parallel)."""

from __future__ import annotations

import warnings

import pytest
import xarray as xr

from bessx.onepass import daily_from_exports, parallel
from bessx.synthetic import write_plant


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_plant(tmp_path_factory.mktemp("parallel"), "2023-03-30", 5, inverters=2)


def _results(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return daily_from_exports(folder, timezone="Australia/Sydney", soc=True)


def test_every_way_of_running_the_map_gives_the_same_results(plant, monkeypatch):
    monkeypatch.setenv("BESSX_ONEPASS_MAP", "serial")
    reference = _results(plant.folder)
    for how in parallel.MAPS:
        monkeypatch.setenv("BESSX_ONEPASS_MAP", how)
        for got, expected in zip(_results(plant.folder), reference, strict=True):
            # the history attribute holds the time of the run
            xr.testing.assert_identical(got.drop_attrs(), expected.drop_attrs())
            assert got.attrs.keys() == expected.attrs.keys()


def test_fewer_files_than_cores_run_here_without_a_graph(monkeypatch):
    monkeypatch.delenv("BESSX_ONEPASS_MAP", raising=False)
    monkeypatch.setattr(parallel, "cores", lambda: 4)
    monkeypatch.setattr(parallel, "_dask_decides", lambda: False)  # no client, no scheduler
    assert parallel.choose_map(1) == "serial"
    assert parallel.choose_map(3) == "serial"
    assert parallel.choose_map(4) == "threads"
    monkeypatch.setenv("BESSX_ONEPASS_MAP", "fast")
    with pytest.raises(ValueError, match="choose one of serial, threads, processes, dask"):
        parallel.choose_map(10)


def _warns(item: int, settings: object) -> int:
    warnings.warn(f"item {item}", UserWarning, stacklevel=1)
    return item * 2


def test_a_worker_process_warnings_are_shown_here(monkeypatch):
    monkeypatch.setenv("BESSX_ONEPASS_MAP", "processes")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parallel.map_files(_warns, [1, 2, 3], None) == [2, 4, 6]
    assert sorted(str(record.message) for record in caught) == ["item 1", "item 2", "item 3"]
