"""The time-varying queue model (optistaff.time_varying) against independent truth:
the stationary formulas where they must agree, a dense matrix-exponential reference
written from the contract (tests/tv_reference.py), the simulator within stated
statistical tolerances, and the measured effect of each approximation the contract
names (models/12-time-varying.md)."""

from __future__ import annotations

import numpy as np
import pytest
from tv_reference import reference

from optistaff import queueing
from optistaff import time_varying as tv
from optistaff.simulate import QueueModel, SimulationModel, estimate, run_replications

FIELDS = ("answered_within", "answered", "abandoned", "waiting_at_end", "wait_answered_s", "busy_s")


def day(
    calls: list[float],
    aht: list[float] | float,
    agents: list[int],
    *,
    interval_s: float = 300.0,
    tau: float = 20.0,
    patience: float | None = None,
    waiting: int = 0,
    in_service: int = 0,
) -> tv.QueueDay:
    T = len(calls)
    ahts = [aht] * T if isinstance(aht, float | int) else aht
    return tv.QueueDay(
        np.asarray(calls, dtype=float),
        np.asarray(ahts, dtype=float),
        np.asarray(agents, dtype=np.int64),
        interval_s,
        tau,
        patience,
        start_waiting=waiting,
        start_in_service=in_service,
    )


@pytest.mark.parametrize("patience", [None, 240.0])
def test_constant_load_far_from_the_start_gives_the_stationary_figures(
    patience: float | None,
) -> None:
    """Constant load for 8 hours: the middle interval is in steady state, so its figures
    are Erlang C / A's (to 1e-7), whatever the model computes them from."""
    T, calls, aht, n = 16, 100.0, 180.0, 13
    d = day([calls] * T, aht, [n] * T, interval_s=1800.0, tau=20.0, patience=patience)
    f = tv.evaluate_queue(d)
    st = queueing.performance(calls, aht, 1800.0, 20.0, n, patience_s=patience)
    t = T // 2
    assert f.answered_within[t] / calls == pytest.approx(float(st.service_level), rel=1e-7)
    assert f.abandoned[t] / calls == pytest.approx(float(st.abandon_rate), abs=1e-9)
    assert f.wait_answered_s[t] / f.answered[t] == pytest.approx(float(st.asa_s), rel=1e-6)
    assert f.busy_s[t] / (n * 1800.0) == pytest.approx(float(st.occupancy), rel=1e-7)
    # ... and the first interval (the day starts empty) is better than the steady state
    assert f.answered_within[0] / calls > float(st.service_level) + 0.01


Case = tuple[list[float], list[float] | float, list[int], float, float | None, int, int]
CASES: list[Case] = [
    # calls, aht, agents, tau, patience, waiting, in_service
    ([4.0, 6.0, 2.0], [120.0, 90.0, 150.0], [2, 1, 3], 20.0, 60.0, 0, 0),
    ([3.0, 5.0, 5.0, 1.0], 100.0, [1, 2, 1, 2], 60.0, None, 0, 0),
    ([2.0, 0.0, 4.0], 180.0, [1, 1, 0], 0.0, 120.0, 0, 0),
    ([5.0, 5.0], 80.0, [2, 1], 400.0, None, 0, 0),  # τ beyond Δ: windows cross two boundaries
    ([3.0, 4.0, 2.0], [60.0, 200.0, 90.0], [3, 1, 2], 400.0, 90.0, 0, 0),
    ([2.0, 3.0, 3.0], 120.0, [1, 2, 2], 30.0, 200.0, 3, 2),  # a starting state
    ([1.0, 4.0], 150.0, [1, 3], 45.0, None, 2, 3),  # in service above n at the start
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_matches_the_dense_reference_on_small_chains(case: int) -> None:
    """Every figure of every interval equals the reference's (dense expm, backward values
    per arrival time, Van Loan integrals) to 1e-9 calls (agent-seconds for busy time)."""
    calls, aht, agents, tau, patience, waiting, in_service = CASES[case]
    d = day(calls, aht, agents, tau=tau, patience=patience, waiting=waiting, in_service=in_service)
    f = tv.evaluate_queue(d)
    r = reference(
        d.calls,
        d.aht_s,
        d.agents,
        d.interval_s,
        tau,
        patience,
        f.states - 1,
        start_waiting=waiting,
        start_in_service=in_service,
    )
    for name in FIELDS:
        tol = 1e-7 if name == "busy_s" else 1e-9
        np.testing.assert_allclose(
            getattr(f, name), getattr(r, name), rtol=0, atol=tol, err_msg=name
        )


def test_the_reference_would_catch_a_wrong_model() -> None:
    """The comparison can fail: the same day with one agent fewer in one interval differs
    from the reference by far more than the tolerance."""
    calls, aht, agents, tau, patience, _w, _s = CASES[0]
    d = day(calls, aht, agents, tau=tau, patience=patience)
    wrong = day(calls, aht, [agents[0], agents[1], agents[2] - 1], tau=tau, patience=patience)
    f, g = tv.evaluate_queue(d), tv.evaluate_queue(wrong)
    r = reference(d.calls, d.aht_s, d.agents, d.interval_s, tau, patience, f.states - 1)
    assert np.max(np.abs(g.answered_within - r.answered_within)) > 1e-3


@pytest.mark.parametrize("case", range(len(CASES)))
def test_every_call_is_answered_abandoned_or_still_waiting(case: int) -> None:
    calls, aht, agents, tau, patience, waiting, in_service = CASES[case]
    d = day(calls, aht, agents, tau=tau, patience=patience, waiting=waiting, in_service=in_service)
    f = tv.evaluate_queue(d)
    total = f.answered + f.abandoned + f.waiting_at_end
    np.testing.assert_allclose(total, f.offered, rtol=0, atol=1e-9)
    assert np.all(f.answered_within <= f.answered + 1e-12)


def test_a_starting_state_occupies_agents_and_is_counted_nowhere() -> None:
    """Calls present at the start are ahead of every arrival: the first interval's
    service falls, but they appear in no interval's offered or answered calls."""
    empty = tv.evaluate_queue(day([6.0, 6.0], 120.0, [2, 2], tau=20.0, patience=180.0))
    busy = tv.evaluate_queue(
        day([6.0, 6.0], 120.0, [2, 2], tau=20.0, patience=180.0, waiting=8, in_service=2)
    )
    assert busy.answered_within[0] < empty.answered_within[0] - 0.5
    np.testing.assert_allclose(busy.offered, empty.offered)
    total = busy.answered + busy.abandoned + busy.waiting_at_end
    np.testing.assert_allclose(total, busy.offered, atol=1e-9)
    # the agents serve them: the first interval is busier
    assert busy.busy_s[0] > empty.busy_s[0] + 60.0


def test_truncation_loses_at_most_the_bound_and_more_states_change_nothing() -> None:
    """An Erlang C day overloaded for an hour (the backlog carries over): the chain the
    model picks loses at most 1e-12 per interval, and one twice as large gives the same
    figures."""
    calls = [20.0, 60.0, 60.0, 60.0, 60.0, 10.0, 10.0, 10.0]
    d = day(calls, 240.0, [5] * 8, interval_s=900.0, tau=20.0)
    f = tv.evaluate_queue(d)
    assert f.lost.max() <= tv.LOST_MASS
    big = tv._evaluate(d, 2 * (f.states - 1))
    assert big is not None
    for name in FIELDS:
        np.testing.assert_allclose(getattr(big, name), getattr(f, name), rtol=1e-10, atol=1e-9)
    assert f.waiting_at_end.sum() > 1.0  # the overload really left calls waiting


def test_the_boundary_quadrature_is_converged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one quadrature (arrivals whose τ window crosses a boundary): panels 8 times
    shorter change no answered-within figure by more than 1e-11 calls."""
    d = day([8.0, 20.0, 5.0, 12.0], 150.0, [3, 6, 1, 4], interval_s=300.0, tau=60.0, patience=90.0)
    coarse = tv.evaluate_queue(d)
    monkeypatch.setattr(tv, "PANEL_RATE_LENGTH", tv.PANEL_RATE_LENGTH / 8)
    fine = tv.evaluate_queue(d)
    np.testing.assert_allclose(fine.answered_within, coarse.answered_within, rtol=0, atol=1e-11)


def _simulate(d: tv.QueueDay, replications: int, seed: int = 0) -> dict[str, object]:
    q = QueueModel(
        "q", d.calls, d.aht_s, d.agents.astype(np.int64), d.answer_within_s, d.patience_s
    )
    counts = run_replications(
        SimulationModel(d.interval_s, (q,)), replications, seed=seed, workers=1
    )
    return {"est": estimate(counts), "counts": counts}


def _gap_in_se(model: np.ndarray, est: object) -> np.ndarray:
    """|model − simulated| in standard errors (from the 95 % interval's half-width)."""
    value = est.value[0]  # type: ignore[attr-defined]
    half = (est.high[0] - est.low[0]) / 2  # type: ignore[attr-defined]
    se = np.maximum(half / 1.96, 1e-12)
    return np.asarray(np.abs(model - value) / se)


def test_the_simulator_agrees_where_no_approximation_applies() -> None:
    """Staffing rises only and AHT is constant (the approximation A2 does not apply): service
    level, abandon rate and ASA of every interval lie within 4 standard errors of 2,000
    simulated days (a false alarm over these 24 figures has probability below 0.2 %)."""
    d = day(
        [30.0, 60.0, 90.0, 60.0, 30.0, 20.0, 20.0, 10.0],
        240.0,
        [4, 5, 6, 7, 7, 7, 8, 8],
        interval_s=900.0,
        tau=20.0,
        patience=200.0,
    )
    f = tv.evaluate_queue(d)
    sim = _simulate(d, 2000)
    est = sim["est"]
    assert isinstance(est, dict)
    assert np.all(_gap_in_se(f.answered_within / f.offered, est["service_level"]) < 4)
    assert np.all(_gap_in_se(f.abandoned / f.offered, est["abandon_rate"]) < 4)
    assert np.all(_gap_in_se(f.wait_answered_s / f.answered, est["asa_s"]) < 4)


def test_a_staffing_drop_follows_the_simulators_rule() -> None:
    """When staffing halves, busy agents finish their call and nobody starts until fewer
    than n are in service (the simulator's rule, which the chain follows with its
    layers of finishing agents): every interval within 4 standard errors of 4,000
    simulated days, with patience and without."""
    calls, agents = [25.0, 25.0, 10.0, 10.0], [19, 19, 9, 9]
    for patience in (300.0, None):
        d = day(calls, 600.0, agents, interval_s=900.0, tau=20.0, patience=patience)
        f = tv.evaluate_queue(d)
        est = _simulate(d, 4000)["est"]
        assert isinstance(est, dict)
        assert np.all(_gap_in_se(f.answered_within / f.offered, est["service_level"]) < 4)
        assert np.all(_gap_in_se(f.wait_answered_s / f.answered, est["asa_s"]) < 4)


# The effect of the contract's approximation A2 (a call in service ends at the current
# interval's rate), measured with 4,000 simulated days on a day built so that it
# matters: handle times double for the calls of one interval (models/12-time-varying.md
# records the numbers: −14 points in that interval, +29 in the next).
A2_BOUND = 0.35


def test_the_approximation_is_measured() -> None:
    """A2 against the simulator on a day where it matters: before the AHT change the
    model is exact (within 4 standard errors); after it the effect is real (beyond 4
    standard errors, so the measurement can fail) and within its recorded bound."""
    d = day(
        [40.0, 40.0, 40.0],
        [240.0, 480.0, 240.0],
        [12, 12, 12],
        interval_s=900.0,
        tau=20.0,
        patience=300.0,
    )
    f = tv.evaluate_queue(d)
    est = _simulate(d, 4000)["est"]
    assert isinstance(est, dict)
    sl = f.answered_within / f.offered
    effect = est["service_level"].value[0] - sl
    size = _gap_in_se(sl, est["service_level"])
    assert size[0] < 4
    assert np.all(size[1:] > 4) and np.all(np.abs(effect[1:]) <= A2_BOUND)
