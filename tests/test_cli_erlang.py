"""`optistaff erlang` through click's CliRunner against the real command group."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from optistaff.cli import main
from optistaff.queueing import performance, required_agents

BASE = ["erlang", "--calls", "100", "--interval-minutes", "30", "--aht-s", "180"]
BASE += ["--answer-within-s", "20"]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*BASE, *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_target_sl_erlang_c() -> None:
    code, out, _ = _run("--target-sl", "0.8", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {
        "agents",
        "service_level",
        "asa_s",
        "abandon_rate",
        "occupancy",
        "required_agents",
    }
    assert data["agents"] == data["required_agents"] == 14
    assert data["service_level"] == pytest.approx(0.8884, abs=5e-5)  # pyworkforce README
    assert data["abandon_rate"] == 0.0
    assert data["occupancy"] == pytest.approx(10 / 14)


def test_json_agents_erlang_a_matches_library() -> None:
    code, out, _ = _run("--agents", "13", "--patience-s", "300", "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"agents", "service_level", "asa_s", "abandon_rate", "occupancy"}
    perf = performance(100, 180, 1800, 20, 13, patience_s=300)
    assert data["agents"] == 13
    for key in ("service_level", "asa_s", "abandon_rate", "occupancy"):
        assert data[key] == float(getattr(perf, key))


def test_json_nulls() -> None:
    code, out, _ = _run("--agents", "5", "--json")  # a = 10 > 5: Erlang C unstable
    assert code == 0
    data = json.loads(out)
    assert data["asa_s"] is None and data["service_level"] == 0.0 and data["occupancy"] == 1.0
    code, out, _ = _run("--agents", "0", "--json")
    assert json.loads(out)["occupancy"] is None
    empty = ["erlang", "--calls", "0", "--interval-minutes", "15", "--aht-s", "60"]
    result = CliRunner().invoke(
        main, [*empty, "--answer-within-s", "20", "--target-sl", "0.9", "--json"]
    )
    data = json.loads(result.stdout)
    assert data["agents"] == data["required_agents"] == 0
    assert data["service_level"] is None and data["abandon_rate"] == 0.0


def test_other_standards_without_target_sl() -> None:
    code, out, _ = _run("--max-occupancy", "0.8", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["agents"] == 13 and "required_agents" not in data
    code, out, _ = _run("--patience-s", "300", "--max-abandon-rate", "0.01", "--json")
    expected = required_agents(100, 180, 1800, 20, patience_s=300, max_abandon_rate=0.01)
    assert json.loads(out)["agents"] == int(expected)


def test_table_marks_required_row() -> None:
    code, out, _ = _run("--target-sl", "0.8")
    assert code == 0
    assert "Offered load 10.00 Erlangs" in out
    rows = [line for line in out.splitlines() if "required" in line]
    assert len(rows) == 1 and " 14 " in rows[0] and "88.8%" in rows[0]
    for n in range(11, 20):
        assert f" {n} " in out


def test_table_erlang_a_agents() -> None:
    code, out, _ = _run("--agents", "2", "--patience-s", "60")
    assert code == 0
    assert "Erlang A" in out and "chosen" in out
    assert " 0 " in out  # range starts at max(0, K - 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agents", "14", "--target-sl", "0.8"], "not both"),
        ([], "--agents K"),
        (["--target-sl", "1.0"], "--target-sl"),
        (["--target-sl", "-0.1"], "--target-sl"),
        (["--agents", "-1"], "--agents"),
        (["--agents", "3", "--max-abandon-rate", "0.05"], "--patience-s"),
        (["--agents", "3", "--max-occupancy", "0"], "--max-occupancy"),
        (["--agents", "3", "--patience-s", "0"], "--patience-s"),
    ],
)
def test_bad_values_exit_2_with_one_message(args: list[str], message: str) -> None:
    code, out, err = _run(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--calls", "-1"), ("--aht-s", "0"), ("--aht-s", "-3"), ("--interval-minutes", "0")],
)
def test_bad_inputs(option: str, value: str) -> None:
    args = dict(zip(BASE[1::2], BASE[2::2], strict=True))
    args[option] = value
    argv = ["erlang"] + [x for kv in args.items() for x in kv] + ["--agents", "3"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2
    assert option in result.stderr and "Traceback" not in result.output


#: Every numeric option of ``erlang`` with values it must refuse: nan, ±inf, and one
#: value beyond the limit the README lists (calls ≤ 1e6, AHT 1…86,400 s, patience 1…1e6
#: s, targets in [0, 1), fractions in (0, 1]).
REFUSED = {
    "--calls": ["nan", "inf", "-inf", "1e300", "1000001"],
    "--interval-minutes": ["nan", "inf", "-inf", "1441"],
    "--aht-s": ["nan", "inf", "0.5", "86401"],
    "--answer-within-s": ["nan", "inf", "-1"],
    "--patience-s": ["nan", "inf", "0.9", "1e7"],
    "--target-sl": ["nan", "inf", "1"],
    "--max-abandon-rate": ["nan", "inf", "1.5"],
    "--max-occupancy": ["nan", "-inf", "0"],
}


@pytest.mark.parametrize(
    ("option", "value"), [(o, v) for o, values in REFUSED.items() for v in values]
)
def test_non_finite_and_out_of_range_numbers_are_refused(option: str, value: str) -> None:
    args = dict(zip(BASE[1::2], BASE[2::2], strict=True))
    args[option] = value
    if option != "--patience-s":
        args["--patience-s"] = "120"  # (so that --max-abandon-rate is a valid option)
    argv = ["erlang"] + [x for kv in args.items() for x in kv]
    if option not in ("--target-sl", "--max-abandon-rate", "--max-occupancy"):
        argv += ["--agents", "3"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert f"'{option}'" in result.stderr and "allowed: a number in" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""


def test_an_offered_load_beyond_the_exact_range_is_refused() -> None:
    result = CliRunner().invoke(main, [*BASE[:2], "1000000", *BASE[3:], "--agents", "3"])
    assert result.exit_code == 2
    assert "offered load" in result.stderr and "5,000" in result.stderr


def test_the_limits_themselves_are_accepted() -> None:
    # the edges of the allowed ranges run (a refusal of a valid value would be a defect)
    code, out, _ = _run("--agents", "0", "--patience-s", "1", "--json")
    assert code == 0 and json.loads(out)["agents"] == 0
    code, out, _ = _run("--target-sl", "0", "--max-occupancy", "1", "--json")
    assert code == 0
