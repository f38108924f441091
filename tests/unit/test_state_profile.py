"""The state profile: read from the file the settings name, checked, and refused with the
file and the field named (one line from the CLI, no traceback)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from healthstack.cli.main import app as cli
from healthstack.settings import (
    DEFAULT_STATE_PROFILE,
    StateProfileError,
    load_settings,
    load_state_profile,
)
from tests.conftest import TEST_SECRET

runner = CliRunner()


def small_state(**changes: object) -> dict[str, object]:
    state: dict[str, object] = {
        "state_lgd": 38,
        "state_name": "Vindhya Pradesh",
        "target_population": 1000,
        "districts": [
            {"lgd": 901, "name": "Amber Valley", "census_population": 300},
            {
                "lgd": 902,
                "name": "Birch Hills",
                "aliases": ["Birch Hill"],
                "census_population": 200,
            },
            {"lgd": 903, "name": "Cedar Plains", "census_population": 100},
        ],
    }
    return state | changes


def write(tmp_path: Path, data: object, name: str = "state.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_unset_is_jammu_and_kashmir_from_the_shipped_file():
    profile = load_settings().profile
    assert profile == load_state_profile(DEFAULT_STATE_PROFILE)
    assert (profile.state_lgd, profile.state_name, len(profile.districts)) == (
        1,
        "Jammu and Kashmir",
        20,
    )
    assert profile.district_name(13) == "Srinagar" and profile.hfr_prefix == "IN01"
    assert sum(profile.district_populations()) == 13_560_000
    assert ("Badgam", 2) in set(profile.spellings())


def test_another_state_comes_from_its_file(tmp_path):
    profile = load_settings(state_profile=write(tmp_path, small_state())).profile
    assert profile.state_name == "Vindhya Pradesh" and profile.hfr_prefix == "IN38"
    assert profile.district_choices() == [
        (901, "Amber Valley"),
        (902, "Birch Hills"),
        (903, "Cedar Plains"),
    ]
    assert profile.district_codes == {901, 902, 903}
    # Shared by census population, the largest remainders taking what is left.
    assert profile.district_populations() == (500, 333, 167)
    assert profile.district_populations(7) == (4, 2, 1)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (small_state(state_lgd=0), "state_lgd: Input should be greater than or equal to 1"),
        (
            small_state(districts=[{"lgd": "x", "name": "A", "census_population": 1}]),
            "districts[0].lgd: Input should be a valid integer",
        ),
        (small_state(districts=[]), "districts: Tuple should have at least 1 item"),
        (
            small_state(
                districts=[
                    {"lgd": 901, "name": "Amber Valley", "census_population": 1},
                    {"lgd": 901, "name": "Birch Hills", "census_population": 1},
                ]
            ),
            "the LGD code 901 is given to both Amber Valley and Birch Hills",
        ),
        (small_state(capital="Amber"), "capital: Extra inputs are not permitted"),
        ("{not json", "is not JSON: Expecting property name enclosed in double quotes at line 1"),
    ],
)
def test_a_bad_file_is_refused_naming_the_file_and_the_field(tmp_path, data, said):
    path = write(tmp_path, data)
    with pytest.raises(StateProfileError) as caught:
        load_state_profile(path)
    assert str(path) in str(caught.value) and said in str(caught.value)
    with pytest.raises(ValidationError) as refused:
        load_settings(state_profile=path)
    [error] = refused.value.errors()
    assert error["loc"] == ("state_profile",) and said in error["msg"]


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(StateProfileError, match="cannot read the state profile .*absent.json"):
        load_state_profile(tmp_path / "absent.json")


def test_an_edited_file_is_read_again(tmp_path):
    path = write(tmp_path, small_state())
    assert load_state_profile(path).state_name == "Vindhya Pradesh"
    path.write_text(json.dumps(small_state(state_name="Vindhya Pradesh (new)")), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a different time, even within the clock's resolution
    assert load_state_profile(path).state_name == "Vindhya Pradesh (new)"


def test_the_cli_refuses_a_bad_profile_in_one_line(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("HEALTHSTACK_"):
            monkeypatch.delenv(name)
    path = write(tmp_path, small_state(districts=[{"lgd": 0, "name": "A", "census_population": 1}]))
    monkeypatch.setenv("HEALTHSTACK_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("HEALTHSTACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEALTHSTACK_STATE_PROFILE", str(path))
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "HEALTHSTACK_STATE_PROFILE" in said and str(path) in said
    assert "districts[0].lgd: Input should be greater than or equal to 1" in said
    assert "Traceback" not in result.output
    assert not (tmp_path / "data").exists()  # refused before anything was made
