"""optistaff.queueing against published values, models/00-contract.md semantics, and properties."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optistaff import queueing
from optistaff.queueing import curves, offered_load, performance, required_agents

DATA = Path(__file__).parent / "data" / "erlang_reference.csv"


def _published_rows() -> list[dict[str, str]]:
    lines = [line for line in DATA.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


@pytest.mark.parametrize(
    "row", _published_rows(), ids=lambda r: f"{r['source']}-{r['agents']}-{r['quantity']}"
)
def test_published_values(row: dict[str, str]) -> None:
    calls, interval, aht, within = (
        float(row[k]) for k in ("calls", "interval_s", "aht_s", "answer_within_s")
    )
    patience = float(row["patience_s"]) if row["patience_s"] else None
    quantity, expected, tol = row["quantity"], float(row["value"]), float(row["abs_tol"])
    if quantity.startswith("required_agents@"):
        target = float(quantity.split("@")[1])
        got = required_agents(
            calls, aht, interval, within, service_level=target, patience_s=patience
        )
        assert int(got) == int(expected)
        return
    n = int(row["agents"])
    if quantity == "waiting_probability":  # P(W > 0) = 1 - SL with a 0 s threshold
        value = 1.0 - float(performance(calls, aht, interval, 0.0, n, patience).service_level)
    else:
        value = float(getattr(performance(calls, aht, interval, within, n, patience), quantity))
    assert value == pytest.approx(expected, abs=tol)


@pytest.mark.parametrize(
    ("n", "a", "b"),
    # classic Erlang B table points, recomputed exactly with mpmath in test_queueing_exact
    [(17, 10.0, 0.012948875224726), (1, 1.0, 0.5), (2, 1.0, 0.2)],
)
def test_erlang_b_core(n: int, a: float, b: float) -> None:
    odds = queueing._log_erlang_b_odds(np.array([float(n)]), np.array([a]))
    assert float(1.0 / (1.0 + np.exp(odds[0]))) == pytest.approx(b, rel=1e-12)


def test_erlang_a_needs_fewer_agents_than_c() -> None:
    """field-notes §3.2/§3.4: A = 10, 80/20: Erlang C needs 14, Erlang A (5 min patience) 13."""
    assert int(required_agents(100, 180, 1800, 20, service_level=0.8)) == 14
    assert int(required_agents(100, 180, 1800, 20, service_level=0.8, patience_s=300)) == 13


def test_sl_definition_is_answered_within_over_offered() -> None:
    """field-notes §3.2: the three SL definitions give 0.858 / 0.870 / 0.880 for this case;
    models/00-contract.md wants the first (abandoned calls count as not answered)."""
    perf = performance(100, 180, 1800, 20, 13, patience_s=300)
    assert float(perf.service_level) == pytest.approx(0.858, abs=5e-4)
    assert abs(float(perf.service_level) - 0.870) > 0.005


# --- the contract's semantics (models/00-contract.md) ------------------------------------


def test_offered_load() -> None:
    assert float(offered_load(100, 180, 1800)) == 10.0
    np.testing.assert_allclose(offered_load([0, 60], 300, 1800), [0.0, 10.0])


def test_zero_calls_is_null_except_abandon() -> None:
    for patience in (None, 120.0):
        perf = performance(0, 180, 1800, 20, [0, 1, 5], patience)
        assert np.isnan(perf.service_level).all()
        assert np.isnan(perf.asa_s).all()
        assert np.isnan(perf.occupancy).all()
        np.testing.assert_array_equal(perf.abandon_rate, 0.0)
        assert int(required_agents(0, 180, 1800, 20, service_level=0.9, patience_s=patience)) == 0


def test_zero_agents() -> None:
    c = performance(100, 180, 1800, 20, 0)
    a = performance(100, 180, 1800, 20, 0, patience_s=60)
    assert float(c.service_level) == 0.0 and float(a.service_level) == 0.0
    assert float(c.abandon_rate) == 0.0 and float(a.abandon_rate) == 1.0
    for perf in (c, a):
        assert math.isnan(float(perf.asa_s)) and math.isnan(float(perf.occupancy))


def test_erlang_c_unstable() -> None:
    perf = performance(100, 180, 1800, 20, [5, 10, 11])  # a = 10
    np.testing.assert_array_equal(perf.service_level[:2], 0.0)
    assert np.isnan(perf.asa_s[:2]).all() and not np.isnan(perf.asa_s[2])
    np.testing.assert_array_equal(perf.occupancy[:2], 1.0)
    np.testing.assert_array_equal(perf.abandon_rate, 0.0)


def test_erlang_a_overloaded_is_defined() -> None:
    perf = performance(100, 180, 1800, 20, [1, 5, 10], patience_s=120)
    for field in ("service_level", "abandon_rate", "asa_s", "occupancy"):
        assert np.isfinite(getattr(perf, field)).all()
    assert (perf.occupancy <= 1.0).all()
    assert perf.abandon_rate[0] > 0.8


def test_patience_inf_and_nan_mean_erlang_c() -> None:
    mixed = performance(100, 180, 1800, 20, 14, patience_s=[np.inf, np.nan, 300.0])
    pure_c = performance(100, 180, 1800, 20, 14)
    pure_a = performance(100, 180, 1800, 20, 14, patience_s=300.0)
    for field in ("service_level", "abandon_rate", "asa_s", "occupancy"):
        got = getattr(mixed, field)
        assert got[0] == got[1] == float(getattr(pure_c, field))
        assert got[2] == float(getattr(pure_a, field))


def test_occupancy_uses_answered_calls() -> None:
    perf = performance(100, 180, 1800, 20, 12, patience_s=60)
    expected = 10 * (1 - float(perf.abandon_rate)) / 12
    assert float(perf.occupancy) == pytest.approx(expected, rel=1e-12)


def test_asa_is_mean_wait_of_answered_calls() -> None:
    """Erlang C: ASA = P(W>0) h / (n - a) (all calls are answered)."""
    perf0 = performance(100, 180, 1800, 0, 14)
    p_wait = 1 - float(perf0.service_level)
    assert float(perf0.asa_s) == pytest.approx(p_wait * 180 / 4, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calls": -1}, "calls"),
        ({"aht_s": 0}, "aht_s"),
        ({"interval_s": -5}, "interval_s"),
        ({"answer_within_s": -1}, "answer_within_s"),
        ({"agents": 2.5}, "agents"),
        ({"agents": -1}, "agents"),
        ({"patience_s": 0}, "patience_s"),
        ({"calls": np.nan}, "calls"),
    ],
)
def test_invalid_inputs_raise(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {
        "calls": 100,
        "aht_s": 180,
        "interval_s": 1800,
        "answer_within_s": 20,
        "agents": 14,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        performance(**args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"service_level": 1.0}, "service_level"),
        ({"service_level": -0.1}, "service_level"),
        ({"max_abandon_rate": 0.0}, "max_abandon_rate"),
        ({"max_occupancy": 1.5}, "max_occupancy"),
    ],
)
def test_invalid_standards_raise(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        required_agents(100, 180, 1800, 20, **kwargs)


def test_required_agents_standards() -> None:
    # only occupancy: a <= o n  ->  n >= 10 / 0.8 = 12.5; Erlang C also needs n > a
    assert int(required_agents(100, 180, 1800, 20, max_occupancy=0.8)) == 13
    assert int(required_agents(100, 180, 1800, 20, max_occupancy=1.0)) == 11
    assert int(required_agents(100, 180, 1800, 20)) == 11  # Erlang C, no standard: n > a
    assert int(required_agents(100, 180, 1800, 20, patience_s=60)) == 0  # nothing required
    r = required_agents(100, 180, 1800, 20, patience_s=300, max_abandon_rate=0.01)
    ab = performance(100, 180, 1800, 20, [int(r) - 1, int(r)], patience_s=300).abandon_rate
    assert ab[0] > 0.01 >= ab[1]
    # NaN in a standard array = that standard does not apply to that element
    got = required_agents(100, 180, 1800, 20, service_level=[0.8, np.nan], patience_s=300)
    np.testing.assert_array_equal(got, [13, 0])
    assert got.dtype == np.int64


# --- properties (hypothesis) ----------------------------------------------------------------

calls_st = st.floats(0.5, 3000.0)
aht_st = st.floats(20.0, 1200.0)
interval_st = st.sampled_from([300.0, 900.0, 1800.0, 3600.0])
within_st = st.sampled_from([0.0, 5.0, 20.0, 60.0, 300.0])
patience_st = st.one_of(st.none(), st.floats(5.0, 3600.0))
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _max_agents(calls: float, aht: float, interval: float) -> int:
    a = calls * aht / interval
    return int(a + 6 * math.sqrt(a) + 20)


@FAST
@given(calls_st, aht_st, interval_st, within_st, patience_st)
def test_curves_are_monotone_and_probabilities(
    calls: float, aht: float, interval: float, within: float, patience: float | None
) -> None:
    top = _max_agents(calls, aht, interval)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        perf = curves(calls, aht, interval, within, top, patience_s=patience)
    sl, ab, asa, occ = perf.service_level, perf.abandon_rate, perf.asa_s, perf.occupancy
    assert sl.shape == (top + 1,)
    assert not np.isnan(sl).any() and not np.isnan(ab).any()
    for p in (sl, ab, occ[1:]):
        assert ((p >= 0) & (p <= 1)).all()
    assert np.isnan(occ[0]) and np.isnan(asa[0])
    assert (np.diff(sl) >= -1e-12).all(), "SL must not fall when an agent is added"
    assert (np.diff(ab) <= 1e-12).all(), "abandonment must not rise when an agent is added"
    a = calls * aht / interval
    defined = np.arange(top + 1) > (a if patience is None else 0)
    assert not np.isnan(asa[defined]).any() and (asa[defined] >= 0).all()
    assert sl[-1] > 0.5


@FAST
@given(calls_st, aht_st, interval_st, within_st, st.floats(0.0, 4.0))
def test_erlang_a_tends_to_erlang_c(
    calls: float, aht: float, interval: float, within: float, sd: float
) -> None:
    a = calls * aht / interval
    n = math.floor(a + 1 + sd * math.sqrt(a))
    assume(n - a > 1e-3)
    # abandonment θ E[Q] against the drift (n - a) μ: θ a / (n - a) << (n - a) / aht, so the
    # patience must be long against aht a / (n - a)^2, not just against aht
    patience = 1e9 * aht * max(1.0, a) / min(1.0, n - a) ** 2
    c = performance(calls, aht, interval, within, n)
    a_big = performance(calls, aht, interval, within, n, patience_s=patience)
    assert float(a_big.abandon_rate) < 1e-6
    assert float(a_big.service_level) == pytest.approx(float(c.service_level), rel=1e-5, abs=1e-9)
    assert float(a_big.asa_s) == pytest.approx(float(c.asa_s), rel=1e-5, abs=1e-9)
    assert float(a_big.occupancy) == pytest.approx(float(c.occupancy), rel=1e-5)


@FAST
@given(
    st.lists(st.tuples(calls_st, aht_st, within_st, patience_st), min_size=1, max_size=6),
    interval_st,
)
def test_vectorised_equals_scalar(
    rows: list[tuple[float, float, float, float | None]], interval: float
) -> None:
    calls, aht, within = (np.array([r[i] for r in rows]) for i in range(3))
    patience = np.array([np.inf if r[3] is None else r[3] for r in rows])
    top = max(_max_agents(c, h, interval) for c, h in zip(calls, aht, strict=True))
    grid = curves(calls, aht, interval, within, top, patience_s=patience)
    assert grid.service_level.shape == (len(rows), top + 1)
    rng = np.random.default_rng(len(rows))
    for k, (c, h, t, p) in enumerate(rows):
        for n in rng.integers(0, top + 1, size=4):
            one = performance(c, h, interval, t, int(n), patience_s=p)
            for field in ("service_level", "abandon_rate", "asa_s", "occupancy"):
                np.testing.assert_allclose(
                    getattr(grid, field)[k, n], float(getattr(one, field)), rtol=1e-12
                )


@FAST
@given(
    calls_st,
    aht_st,
    interval_st,
    within_st,
    patience_st,
    st.one_of(st.none(), st.floats(0.0, 0.99)),
    st.one_of(st.none(), st.floats(0.005, 1.0)),
    st.one_of(st.none(), st.floats(0.5, 1.0)),
)
def test_required_agents_is_smallest_meeting_standards(
    calls: float,
    aht: float,
    interval: float,
    within: float,
    patience: float | None,
    sl: float | None,
    abandon: float | None,
    occupancy: float | None,
) -> None:
    n = int(
        required_agents(
            calls,
            aht,
            interval,
            within,
            service_level=sl,
            patience_s=patience,
            max_abandon_rate=abandon,
            max_occupancy=occupancy,
        )
    )
    a = calls * aht / interval
    top = n + 1
    perf = curves(calls, aht, interval, within, top, patience_s=patience)
    agents = np.arange(top + 1)
    meets = np.ones(top + 1, dtype=bool)
    if sl is not None:
        meets &= perf.service_level >= sl
    if abandon is not None:
        meets &= perf.abandon_rate <= abandon
    if occupancy is not None:
        meets &= a <= occupancy * agents
    if patience is None:
        meets &= agents > a
    assert meets[n], "required_agents must meet the standards"
    assert not meets[:n].any(), "required_agents must be the smallest such n"


def test_required_agents_vectorised_matches_scalar() -> None:
    rng = np.random.default_rng(7)
    calls = rng.uniform(1, 3000, 200)
    aht = rng.uniform(60, 900, 200)
    within = rng.uniform(10, 60, 200)
    target = rng.uniform(0.6, 0.95, 200)
    patience = np.where(rng.random(200) < 0.5, np.inf, rng.uniform(30, 600, 200))
    many = required_agents(calls, aht, 1800, within, service_level=target, patience_s=patience)
    for k in range(0, 200, 17):
        one = required_agents(
            calls[k], aht[k], 1800, within[k], service_level=target[k], patience_s=patience[k]
        )
        assert int(one) == many[k]


# --- stability ------------------------------------------------------------------------------


@pytest.mark.parametrize("patience", [None, 1.0, 60.0, 600.0, 3600.0, 1e7])
def test_stable_at_5000_agents_5000_erlangs(patience: float | None) -> None:
    calls = 5000 * 1800 / 60  # a = 5000 Erlangs
    agents = np.arange(4700, 5301)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        perf = performance(calls, 60, 1800, [[0.0], [20.0]], agents, patience_s=patience)
    sl, ab, asa, occ = perf.service_level, perf.abandon_rate, perf.asa_s, perf.occupancy
    assert np.isfinite(sl).all() and np.isfinite(ab).all() and np.isfinite(occ).all()
    if patience is None:
        assert np.isnan(asa[:, agents <= 5000]).all()
        assert np.isfinite(asa[:, agents > 5000]).all()
    else:
        assert np.isfinite(asa).all()
    assert ((sl >= 0) & (sl <= 1)).all() and ((ab >= 0) & (ab <= 1)).all()
    assert (np.diff(sl, axis=1) >= -1e-12).all()
    assert sl[1, -1] > 0.99


def test_extreme_inputs_do_not_warn() -> None:
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for calls in (1e-9, 1e-3, 1.0, 1e7):
            for patience in (None, 0.01, 100.0, 1e8):
                perf = performance(
                    calls, [[1.0], [60.0], [3600.0]], 1800, 20, [0, 1, 50, 5000], patience
                )
                for field in ("service_level", "abandon_rate", "occupancy"):
                    v = getattr(perf, field)
                    v = v[~np.isnan(v)]
                    assert ((v >= 0) & (v <= 1)).all()
