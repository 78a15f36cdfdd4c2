"""Naive local times in the hour the clocks skip in spring are refused with a message that
names that hour and the rows in it (written by hand with pandas, in two timezones)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bessx
from bessx.onepass import daily_from_exports

POWER = "BESS{} DC Input Power (kW) [Battery Inverter 1APCS1]"
SOC = "System state of charge (%) [Battery system 1A1BAT{}]"


def write_naive_day(folder: Path, day: str, freq: str = "60s") -> Path:
    """A whole naive day of wall-clock times, every minute, as a clock that ignores DST."""
    folder.mkdir()
    time = pd.date_range(day, periods=pd.Timedelta("1D") // pd.Timedelta(freq), freq=freq)
    frame = pd.DataFrame(
        {
            **{POWER.format(dc): np.full(len(time), 100.0) for dc in (1, 2)},
            **{SOC.format(k): np.linspace(80.0, 20.0, len(time)) for k in (1, 2)},
        },
        index=pd.DatetimeIndex(time, name="Timestamp"),
    )
    path = folder / f"{day.replace('-', '')}.parquet"
    frame.to_parquet(path)
    return path


@pytest.mark.parametrize(
    ("timezone", "day"),
    [("Europe/Berlin", "2023-03-26"), ("Australia/Sydney", "2023-10-01")],
    ids=["Berlin", "Sydney"],
)
def test_the_skipped_spring_hour_is_named_with_its_rows(
    tmp_path: Path, timezone: str, day: str
) -> None:
    path = write_naive_day(tmp_path / "exports", day)
    expected = (
        f"{path}: local times that do not exist in {timezone}: on {day} the clocks jump from "
        "02:00 to 03:00 (daylight saving time begins), but 60 row(s) lie in the skipped hour "
        "(02:00:00 to 02:59:00, rows 121 to 180)"
    )
    for read in (
        lambda: bessx.open_exports(path.parent, timezone=timezone),
        lambda: daily_from_exports(path.parent, timezone=timezone),
    ):
        with pytest.raises(bessx.BessxError) as raised:
            read()
        message = str(raised.value)
        assert message.startswith(expected), message
        assert "repeated hour" not in message


def test_one_row_in_the_skipped_hour(tmp_path: Path) -> None:
    path = write_naive_day(tmp_path / "exports", "2023-03-26", freq="50min")
    with pytest.raises(
        bessx.BessxError, match=r"1 row\(s\) lie in the skipped hour \(02:30:00, row 4\)"
    ):
        bessx.open_exports(path.parent, timezone="Europe/Berlin")


@pytest.mark.filterwarnings("ignore:.*no plant column:bessx.ExportWarning")
def test_the_same_day_in_utc_or_a_zone_without_the_change_is_read(tmp_path: Path) -> None:
    path = write_naive_day(tmp_path / "exports", "2023-03-26")
    assert bessx.open_exports(path.parent, timezone="UTC").sizes["time"] == 1440
    assert bessx.open_exports(path.parent, timezone="Australia/Sydney").sizes["time"] == 1440
