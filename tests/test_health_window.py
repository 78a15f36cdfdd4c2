"""The battery health's window from the site file (``[health] window``) and the command line
(``--health-window``), and the capacity-trend figure that names both."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_cli import assert_one_line_error, bessx, bessx_here

from bessx import synthetic
from bessx.cli import EXIT_USAGE
from bessx.config import Config, HealthTable, load_config, merge
from bessx.errors import ConfigError
from bessx.synthetic import write_plant


# The setting -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "window"), [('"7D"', "7D"), ("14", "14D"), ('"3 days"', "3D"), ('"1d"', "1D")]
)
def test_the_site_file_sets_the_window(tmp_path: Path, value: str, window: str) -> None:
    site = tmp_path / "site.toml"
    site.write_text(f"[health]\nwindow = {value}\n", encoding="utf-8")
    assert load_config(site).health == HealthTable(window=window)


def test_the_default_window_is_30_days() -> None:
    assert Config(timezone=synthetic.TIMEZONE).health.window == "30D"


@pytest.mark.parametrize(
    ("value", "hint"), [('"2h"', ""), ('"0D"', " (at least one day)"), ("true", ""), ("1.5", "")]
)
def test_a_bad_window_is_one_line_naming_the_key(tmp_path: Path, value: str, hint: str) -> None:
    site = tmp_path / "site.toml"
    site.write_text(f"[health]\nwindow = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(site)
    assert str(raised.value) == (
        f"{site}: 'health.window' must be a whole number of days such as \"30D\", got {value}{hint}"
    )


def test_a_flag_overrides_the_file(tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[health]\nwindow = "7D"\n', encoding="utf-8")
    assert merge(load_config(site), health={"window": "2D"}).health.window == "2D"
    assert merge(load_config(site), health={"window": None}).health.window == "7D"


# The command -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory):
    return write_plant(tmp_path_factory.mktemp("window") / "exports", "2023-03-01", 4,
                       inverters=1, seed=4)  # fmt: skip


def windows(out: Path) -> list[str]:
    return sorted(pd.read_csv(out / "health.csv")["window"].unique())


def test_health_window_from_the_flag_and_from_the_site_file(tmp_path: Path, plant) -> None:
    # health.csv is all this test reads: the runs write no other output
    plain = tmp_path / "plain.toml"
    plain.write_text('timezone = "Australia/Sydney"\noutputs = ["health"]\n', encoding="utf-8")
    flagged = tmp_path / "flagged"
    result = bessx_here("run", plant.folder, "--out", flagged, "--health-window", "2D",
                        "--config", plain, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert windows(flagged) == ["2023-03-01", "2023-03-03"]

    site = tmp_path / "site.toml"
    site.write_text(
        'timezone = "Australia/Sydney"\noutputs = ["health"]\n[health]\nwindow = "1D"\n',
        encoding="utf-8",
    )
    from_file = tmp_path / "from-file"
    result = bessx_here(
        "run",
        plant.folder,
        "--out",
        from_file,
        "--config",
        site,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert windows(from_file) == ["2023-03-01", "2023-03-02", "2023-03-03", "2023-03-04"]


def test_a_bad_flag_exits_2_naming_it(tmp_path: Path, plant) -> None:
    result = bessx("run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", tmp_path / "out",
                   "--health-window", "2h", cwd=tmp_path)  # fmt: skip
    assert_one_line_error(
        result, EXIT_USAGE, '--health-window must be a whole number of days such as "30D"'
    )
    assert not (tmp_path / "out").exists()


def test_the_capacity_trend_without_a_trend_names_the_flag_and_the_key(plant) -> None:
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import bessx as package
    from bessx.health.plot import capacity_trend

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", package.ExportWarning)
        history = package.open_exports(plant.folder, timezone="Australia/Sydney")
    axes = capacity_trend(package.health(history).compute())  # one window of 4 days
    try:
        text = " ".join(item.get_text() for item in axes.texts)
        assert "bessx run --health-window 2D" in text
        assert '[health] window = "2D" in the site file' in text
        assert 'bessx.health(ds, window="2D")' in text
    finally:
        plt.close(axes.figure)
