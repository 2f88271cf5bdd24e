"""Erlang C (M/M/n) and Erlang A (M/M/n+M) performance, exactly as models/00-contract.md defines it.

All functions take array-likes and broadcast them together (numpy rules). Units:
``calls`` = calls arriving in the interval, ``aht_s`` = mean handle time in seconds,
``interval_s`` = interval length in seconds, ``answer_within_s`` = service-level threshold
in seconds, ``patience_s`` = mean (exponential) patience in seconds, ``agents`` = number of
agents (integers >= 0). The offered load is ``a = calls * aht_s / interval_s`` Erlangs.

Null values (the contract's "null") are returned as NaN, and NaN means nothing else:

* ``calls == 0``: service level, ASA and occupancy are NaN, abandon rate is 0;
* ``agents == 0`` (and calls > 0): ASA and occupancy are NaN, service level 0,
  abandon rate 0 (Erlang C) or 1 (Erlang A);
* Erlang C with ``0 < agents <= a`` (unstable queue): ASA is NaN, service level 0,
  occupancy 1.

Numerical method (no factorials, no powers; stable for n and a in the thousands):

* Erlang B enters only through its odds ``(1 - B)/B = Q(n, a) / pois(n; a)``, computed in log
  space (``Q`` = regularised upper incomplete gamma, ``pois`` = Poisson pmf evaluated with
  Loader's saddle-point form), with a positive series where ``Q`` underflows.
* Erlang C: ``C = n / ((n - a)(1 + odds) + a)``; ``SL = 1 - C exp(-(n - a) t / h)``,
  ``ASA = C h / (n - a)``, occupancy ``a / n``.
* Erlang A (field-notes §3.2, Mandelbaum–Zeltyn): with ``x = n h_p / h`` (= nμ/θ) and
  ``y = λ/θ`` the offered wait V of a call that must wait (its time to reach an agent if it
  never abandoned) has, in the variable ``z = θV``, the log-concave density
  ``f(z) ∝ exp(-x z - y e^-z)`` on ``z >= 0`` (field-notes' ``f_V`` after ``u = y e^{-θs}``).
  A call with offered wait V is answered iff its patience exceeds V (probability ``e^-z``), so

  - ``P(W>0) = 𝒜B / (1 + (𝒜 - 1)B)`` with ``𝒜 = x ∫_0^∞ exp(-x z + y(1 - e^-z)) dz``
    (= field-notes' ``x e^y y^-x γ(x, y)``),
  - ``P(abandon | W>0) = E[1 - e^-Z]``,
  - ``P(answered within t | W>0) = E[e^-Z 1{Z <= θt}]``  (the integral of field-notes §3.2),
  - ``E[W 1{answered} | W>0] = E[(Z/θ) e^-Z]``,

  and ``ASA = E[W 1{answered}] / P(answered) = P(W>0) E[(Z/θ) e^-Z] / (P(W=0) + P(W>0) E[e^-Z])``
  (a call that does not wait is answered with wait 0; a waiting call contributes its
  offered wait only when answered). Every one of these is an integral of a positive,
  smooth, log-concave function; it is computed by composite Gauss–Legendre quadrature on
  panels whose edges are the points where the log-density has dropped by ``45 (j/8)^2``
  from its maximum (so the panels follow the density's own scale on both sides, and
  what lies outside is below ``e^-45`` relative). No subtraction of nearly equal numbers
  is involved, so the results are accurate to ~1e-12 relative, also for tiny
  probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Performance", "curves", "offered_load", "performance", "required_agents"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

_LOG_2PI = float(np.log(2.0 * np.pi))
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_LEVELS_PER_SIDE = 8
_DROP = 45.0  # log-density drop covered by the quadrature panels (e^-45 ~ 3e-20)
_CHUNK = 2048  # Erlang A elements per quadrature batch (bounds memory)


@dataclass(frozen=True)
class Performance:
    """Queue performance per (inputs, agents) element; NaN means null (see module doc).

    service_level: P(a call is answered within the threshold); abandoned calls count as
        not answered (answered within threshold / offered), in [0, 1].
    abandon_rate: P(a call abandons), in [0, 1]; 0 for Erlang C, 1 for Erlang A with 0 agents.
    asa_s: mean wait of answered calls, seconds.
    occupancy: a (1 - abandon_rate) / agents, capped at 1.
    """

    service_level: FloatArray
    abandon_rate: FloatArray
    asa_s: FloatArray
    occupancy: FloatArray


def offered_load(calls: ArrayLike, aht_s: ArrayLike, interval_s: ArrayLike) -> FloatArray:
    """Offered load in Erlangs: ``calls * aht_s / interval_s``."""
    c, h, d = (np.asarray(v, dtype=np.float64) for v in (calls, aht_s, interval_s))
    return np.asarray(c * h / d, dtype=np.float64)


def performance(
    calls: ArrayLike,
    aht_s: ArrayLike,
    interval_s: ArrayLike,
    answer_within_s: ArrayLike,
    agents: ArrayLike,
    patience_s: ArrayLike | None = None,
) -> Performance:
    """Service level, abandon rate, ASA (s) and occupancy with ``agents`` agents.

    Every argument is array-like and they broadcast together. ``patience_s`` None means
    Erlang C everywhere; entries that are ``inf`` or NaN are Erlang C, finite entries (> 0,
    seconds) Erlang A. Raises ValueError for out-of-range inputs.
    """
    if patience_s is None and all(
        np.ndim(v) == 0 for v in (calls, aht_s, interval_s, answer_within_s, agents)
    ):
        one = _erlang_c_scalar(calls, aht_s, interval_s, answer_within_s, agents)
        if one is not None:
            return one
    return _evaluate(calls, aht_s, interval_s, answer_within_s, agents, patience_s, True)


def _erlang_c_scalar(
    calls: Any, aht_s: Any, interval_s: Any, answer_within_s: Any, agents: Any
) -> Performance | None:
    """:func:`performance` of one Erlang C case in plain floats: the same formulas as
    the vectorised path (pinned against it to 1e-13 in the tests), without the numpy
    machinery that costs more than the formulas on one element. None when an input is
    not a plain valid number (the general path then reports it)."""
    try:
        c, h, d, t, n = (float(v) for v in (calls, aht_s, interval_s, answer_within_s, agents))
    except (TypeError, ValueError):
        return None
    valid = (
        math.isfinite(c)
        and c >= 0
        and math.isfinite(h)
        and h > 0
        and math.isfinite(d)
        and d > 0
        and t >= 0
        and math.isfinite(n)
        and n >= 0
        and n == math.floor(n)
    )
    if not valid:
        return None
    nan = math.nan
    if c == 0:
        return _scalar_performance(nan, 0.0, nan, nan)
    if n == 0:
        return _scalar_performance(0.0, 0.0, nan, nan)
    a = c * h / d
    if n <= a:
        return _scalar_performance(0.0, 0.0, nan, 1.0)
    from scipy import special  # (where used: ~0.2 s to import, a cached run needs none)

    q = float(special.gammaincc(n, a))
    if not q > 1e-250:
        return None  # (the far tail: the general path's series)
    log_odds = math.log(q) - _log_poisson_scalar(n, a)
    log_c = math.log(n) - _logaddexp(math.log(n - a) + _logaddexp(0.0, log_odds), math.log(a))
    erl_c = math.exp(log_c)
    sl = 1.0 - erl_c * math.exp(-(n - a) * t / h)
    return _scalar_performance(sl, 0.0, erl_c * h / (n - a), a / n)


def _scalar_performance(sl: float, ab: float, asa: float, occ: float) -> Performance:
    return Performance(
        service_level=np.asarray(sl),
        abandon_rate=np.asarray(ab),
        asa_s=np.asarray(asa),
        occupancy=np.asarray(occ),
    )


def _logaddexp(x: float, y: float) -> float:
    """log(e^x + e^y) without overflow (numpy's logaddexp for two floats)."""
    top = max(x, y)
    return top + math.log1p(math.exp(-abs(x - y)))


def _log_poisson_scalar(k: float, lam: float) -> float:
    """:func:`_log_poisson` for one pair of floats."""
    if k > 15:
        k2 = 1.0 / (k * k)
        stirl = (
            1.0 / 12 - k2 * (1.0 / 360 - k2 * (1.0 / 1260 - k2 * (1.0 / 1680 - k2 / 1188)))
        ) / k
    else:
        from scipy import special

        stirl = float(special.gammaln(k + 1)) - (k + 0.5) * math.log(k) + k - 0.5 * _LOG_2PI
    if abs(k - lam) < 0.1 * (k + lam):
        v = (k - lam) / (k + lam)
        bd0 = (k - lam) * v
        ej = 2.0 * k * v
        v2 = v * v
        for j in range(1, 12):
            ej *= v2
            bd0 += ej / (2 * j + 1)
    else:
        bd0 = k * math.log(k / lam) + lam - k
    return -stirl - bd0 - 0.5 * (_LOG_2PI + math.log(k))


def curves(
    calls: ArrayLike,
    aht_s: ArrayLike,
    interval_s: ArrayLike,
    answer_within_s: ArrayLike,
    max_agents: int,
    patience_s: ArrayLike | None = None,
) -> Performance:
    """Performance for every n = 0..max_agents at once.

    The inputs broadcast to a shape S (``()`` or ``(K,)`` typically); each result array has
    shape ``S + (max_agents + 1,)`` and column n holds the values with n agents.
    """
    if int(max_agents) != max_agents or max_agents < 0:
        raise ValueError(f"max_agents must be an integer >= 0, got {max_agents!r}")
    args = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (calls, aht_s, interval_s, answer_within_s)),
        np.asarray(np.inf if patience_s is None else patience_s, dtype=np.float64),
    )
    grid = np.arange(int(max_agents) + 1, dtype=np.float64)
    c, h, d, t, p = (v[..., None] for v in args)
    return _evaluate(c, h, d, t, grid, p, True)


def required_agents(
    calls: ArrayLike,
    aht_s: ArrayLike,
    interval_s: ArrayLike,
    answer_within_s: ArrayLike,
    *,
    service_level: ArrayLike | None = None,
    patience_s: ArrayLike | None = None,
    max_abandon_rate: ArrayLike | None = None,
    max_occupancy: ArrayLike | None = None,
) -> npt.NDArray[np.int64]:
    """Smallest number of agents meeting every given standard (int64, broadcast shape).

    The standards are ``SL(n) >= service_level`` (0 <= s < 1), ``abandon(n) <=
    max_abandon_rate`` (0 < r <= 1), ``a <= max_occupancy * n`` (0 < o <= 1), and ``n > a``
    for Erlang C. A standard that is None (or NaN in an array) does not apply. ``calls == 0``
    needs 0 agents. The feasible agent counts form an up-set (SL rises and abandonment
    falls with n), so the search is an exponential bracket then a bisection, vectorised.
    """
    c, h, d, t, p = _broadcast_inputs(calls, aht_s, interval_s, answer_within_s, patience_s)
    shape = c.shape
    if shape == () and not np.isfinite(p) and max_abandon_rate is None:
        one = _required_erlang_c_scalar(
            float(c), float(h), float(d), float(t), service_level, max_occupancy
        )
        if one is not None:
            return np.asarray(one, dtype=np.int64)
    std: list[FloatArray] = []
    for name, value, lo_ok, hi_ok in (
        ("service_level", service_level, "0 <= s < 1", lambda v: (v >= 0) & (v < 1)),
        ("max_abandon_rate", max_abandon_rate, "0 < r <= 1", lambda v: (v > 0) & (v <= 1)),
        ("max_occupancy", max_occupancy, "0 < o <= 1", lambda v: (v > 0) & (v <= 1)),
    ):
        arr = np.full(shape, np.nan) if value is None else np.asarray(value, dtype=np.float64)
        ok = np.isnan(arr) | hi_ok(arr)
        if not np.all(ok):
            bad = arr[~ok].flat[0]
            raise ValueError(f"{name} must satisfy {lo_ok}, got {bad!r}")
        std.append(np.broadcast_to(arr, np.broadcast_shapes(shape, arr.shape)))
    full = np.broadcast_shapes(shape, *(s.shape for s in std))
    c, h, d, t, p = (np.broadcast_to(v, full).ravel() for v in (c, h, d, t, p))
    sl_t, ab_t, occ_t = (np.broadcast_to(s, full).ravel() for s in std)
    a = c * h / d
    erlang_c = ~np.isfinite(p)
    result = np.zeros(full, dtype=np.int64).ravel()
    todo = np.flatnonzero(c > 0)
    if todo.size == 0:
        return result.reshape(full)

    def feasible(idx: npt.NDArray[np.intp], n: FloatArray) -> npt.NDArray[np.bool_]:
        perf = _evaluate(c[idx], h[idx], d[idx], t[idx], n, p[idx], False)
        ok = np.ones(idx.size, dtype=bool)
        s, r, o = sl_t[idx], ab_t[idx], occ_t[idx]
        has_s, has_r, has_o = ~np.isnan(s), ~np.isnan(r), ~np.isnan(o)
        ok[has_s] &= perf.service_level[has_s] >= s[has_s]
        ok[has_r] &= perf.abandon_rate[has_r] <= r[has_r]
        ok[has_o] &= a[idx][has_o] <= o[has_o] * n[has_o]
        ok[erlang_c[idx]] &= n[erlang_c[idx]] > a[idx][erlang_c[idx]]
        return ok

    at = a[todo]
    # `bad` is a count known to fail (or -1), `good` one known to meet every standard.
    bad = np.where(erlang_c[todo], np.floor(at), -1.0)
    occ = occ_t[todo]
    occ_floor = np.where(np.isnan(occ), 0.0, np.ceil(at / np.where(np.isnan(occ), 1.0, occ)) - 1)
    good = np.maximum(np.maximum(bad, occ_floor) + 1, np.floor(at))
    step = np.maximum(1.0, np.ceil(np.sqrt(at)))
    ok = feasible(todo, good)
    for _ in range(200):  # exponential bracket; 200 doublings is far beyond any input
        if ok.all():
            break
        miss = ~ok
        bad[miss] = good[miss]
        good[miss] += step[miss]
        step[miss] *= 2
        ok[miss] = feasible(todo[miss], good[miss])
    else:  # pragma: no cover - defensive
        raise RuntimeError("required_agents: no agent count meets the standards")
    while True:
        gap = good - bad > 1
        if not gap.any():
            break
        idx = np.flatnonzero(gap)
        mid = np.floor((good[idx] + bad[idx]) / 2)
        ok_mid = feasible(todo[idx], mid)
        good[idx] = np.where(ok_mid, mid, good[idx])
        bad[idx] = np.where(ok_mid, bad[idx], mid)
    result[todo] = good.astype(np.int64)
    return result.reshape(full)


#: Agent counts a scalar Erlang C search evaluates at once where the plain-float
#: formulas do not apply (a load far above the agents: the general path's series).
_SCALAR_WINDOW_MIN = 16


def _required_erlang_c_scalar(
    c: float, h: float, d: float, t: float, service_level: Any, max_occupancy: Any
) -> int | None:
    """:func:`required_agents` for one Erlang C case: the same formulas on a window of
    agent counts just above the load, evaluated in one vectorised call (the bracket and
    bisection of the general path cost ten calls, each mostly numpy overhead on a
    one-element array). None when a standard is not a plain number (the general path
    then validates and reports it)."""
    if any(v is not None and np.ndim(v) != 0 for v in (service_level, max_occupancy)):
        return None
    try:
        sv = None if service_level is None else float(service_level)
        ov = None if max_occupancy is None else float(max_occupancy)
    except (TypeError, ValueError):
        return None  # (the general path reports it)
    sv = None if sv is not None and math.isnan(sv) else sv
    ov = None if ov is not None and math.isnan(ov) else ov
    if (sv is not None and not 0 <= sv < 1) or (ov is not None and not 0 < ov <= 1):
        return None  # (the general path raises the error)
    if c == 0:
        return 0
    a = c * h / d
    lo = math.floor(a) + 1  # Erlang C needs n > a
    if ov is not None:
        lo = max(lo, math.ceil(a / ov) - 1)
        while not a <= ov * lo:  # (the general path's test, rounding included)
            lo += 1
    if sv is None:
        return lo

    # the general path's search (feasible counts form an up-set): an exponential
    # bracket from the first candidate, then a bisection, on plain floats
    def meets(k: int) -> bool | None:
        one = _erlang_c_scalar(c, h, d, t, k)
        return None if one is None else bool(float(one.service_level) >= sv)

    bad, good, step = lo - 1, lo, max(1, math.ceil(math.sqrt(a)))
    ok = meets(good)
    for _ in range(200):
        if ok is None or ok:
            break
        bad, good, step = good, good + step, step * 2
        ok = meets(good)
    while ok and good - bad > 1:
        mid = (good + bad) // 2
        got = meets(mid)
        if got is None:
            ok = None
            break
        good, bad = (mid, bad) if got else (good, mid)
    if ok:
        return good
    lo = bad + 1  # (the far tail: the vectorised path from here)
    width = max(_SCALAR_WINDOW_MIN, math.ceil(4 * math.sqrt(a)) + 8)
    while True:
        n = np.arange(lo, lo + width, dtype=np.float64)
        sl = _evaluate(c, h, d, t, n, None, False).service_level
        hit = np.flatnonzero(sl >= sv)
        if hit.size:
            return int(n[hit[0]])
        lo += width
        width *= 2


# ---------------------------------------------------------------------------------------
# implementation


def _broadcast_inputs(
    calls: ArrayLike,
    aht_s: ArrayLike,
    interval_s: ArrayLike,
    answer_within_s: ArrayLike,
    patience_s: ArrayLike | None,
    agents: ArrayLike | None = None,
) -> tuple[FloatArray, ...]:
    """Validate and broadcast the inputs to float arrays of one shape."""
    raw: list[Any] = [calls, aht_s, interval_s, answer_within_s]
    raw.append(np.inf if patience_s is None else patience_s)
    if agents is not None:
        raw.append(agents)
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in raw))
    c, h, d, t, p = arrays[:5]
    checks = (
        ("calls", c, (c >= 0) & np.isfinite(c), "a finite number >= 0"),
        ("aht_s", h, (h > 0) & np.isfinite(h), "a finite number > 0"),
        ("interval_s", d, (d > 0) & np.isfinite(d), "a finite number > 0"),
        ("answer_within_s", t, t >= 0, ">= 0"),
        ("patience_s", p, np.isnan(p) | (p > 0), "> 0 (inf or NaN: no abandonment)"),
    )
    for name, arr, ok, allowed in checks:
        if not np.all(ok):
            raise ValueError(f"{name} must be {allowed}, got {arr[~ok].flat[0]!r}")
    out = [np.array(v) for v in arrays]  # writable copies
    out[4] = np.where(np.isnan(out[4]), np.inf, out[4])
    if agents is not None:
        n = out[5]
        if not np.all((n >= 0) & (n == np.floor(n)) & np.isfinite(n)):
            bad = n[~((n >= 0) & (n == np.floor(n)) & np.isfinite(n))].flat[0]
            raise ValueError(f"agents must be whole numbers >= 0, got {bad!r}")
    return tuple(out)


def _evaluate(
    calls: ArrayLike,
    aht_s: ArrayLike,
    interval_s: ArrayLike,
    answer_within_s: ArrayLike,
    agents: ArrayLike,
    patience_s: ArrayLike | None,
    need_asa: bool,
) -> Performance:
    c, h, d, t, p, n = _broadcast_inputs(
        calls, aht_s, interval_s, answer_within_s, patience_s, agents
    )
    shape = c.shape
    c, h, d, t, p, n = (v.ravel() for v in (c, h, d, t, p, n))
    size = c.size
    sl = np.full(size, np.nan)
    ab = np.zeros(size)
    asa = np.full(size, np.nan)
    occ = np.full(size, np.nan)
    with np.errstate(under="ignore"):
        a = c * h / d
        erlang_c = ~np.isfinite(p)
        busy = c > 0
        # no agents: nobody is answered
        none = busy & (n == 0)
        sl[none] = 0.0
        ab[none & ~erlang_c] = 1.0
        # Erlang C, unstable
        unstable = busy & erlang_c & (n > 0) & (n <= a)
        sl[unstable] = 0.0
        occ[unstable] = 1.0
        # Erlang C, stable
        i = np.flatnonzero(busy & erlang_c & (n > a))
        if i.size:
            ni, ai = n[i], a[i]
            log_odds = _log_erlang_b_odds(ni, ai)
            # C = n / ((n - a)(1 + odds) + a), in logs
            log_c = np.log(ni) - np.logaddexp(
                np.log(ni - ai) + np.logaddexp(0.0, log_odds), np.log(ai)
            )
            erl_c = np.exp(log_c)
            sl[i] = 1.0 - erl_c * np.exp(-(ni - ai) * t[i] / h[i])
            asa[i] = erl_c * h[i] / (ni - ai)
            occ[i] = ai / ni
        # Erlang A
        i = np.flatnonzero(busy & ~erlang_c & (n > 0))
        for start in range(0, i.size, _CHUNK):
            j = i[start : start + _CHUNK]
            sl[j], ab[j], asa_j, occ[j] = _erlang_a(n[j], a[j], h[j], t[j], p[j], need_asa)
            asa[j] = asa_j
    return Performance(
        service_level=sl.reshape(shape),
        abandon_rate=ab.reshape(shape),
        asa_s=asa.reshape(shape),
        occupancy=occ.reshape(shape),
    )


def _erlang_a(
    n: FloatArray, a: FloatArray, h: FloatArray, t: FloatArray, p: FloatArray, need_asa: bool
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """SL, abandon rate, ASA (s), occupancy of M/M/n+M for n >= 1, a > 0, finite patience."""
    x = n * p / h  # n mu / theta
    y = a * p / h  # lambda / theta
    w = _waiting_integrals(x, y, t / p, need_asa)
    log_r = _log_erlang_b_odds(n, a) - w.log_big_a  # log((1-B)/(B 𝒜))
    from scipy import special

    p_wait = special.expit(-log_r)
    p_now = special.expit(log_r)
    answered = p_now + p_wait * w.p_answer
    abandon = p_wait * w.p_abandon
    sl = p_now + p_wait * w.p_answer_in_time
    asa = p_wait * w.z_answer * p / answered if need_asa else np.full(n.shape, np.nan)
    occ = np.minimum(1.0, a * answered / n)
    return sl, abandon, asa, occ


@dataclass(frozen=True)
class _Waiting:
    log_big_a: FloatArray  # log 𝒜(x, y)
    p_answer: FloatArray  # E[e^-Z]
    p_abandon: FloatArray  # E[1 - e^-Z]
    p_answer_in_time: FloatArray  # E[e^-Z 1{Z <= zt}]
    z_answer: FloatArray  # E[Z e^-Z]


def _waiting_integrals(x: FloatArray, y: FloatArray, zt: FloatArray, need_z: bool) -> _Waiting:
    """Expectations over Z = θV with density ∝ exp(-x z - y e^-z), z >= 0 (see module doc).

    Log-densities are written relative to the mode z* of the b = x density, as
    ``-(b d - m (1 - e^-d))`` with d = z - z* and m = y e^-z*, which involves no large
    cancelling terms.
    """
    mode = np.where(y > x, np.log(y / x), 0.0)
    m = np.minimum(x, y)
    # log 𝒜 = log x + (φ(z*) - φ(0)) + log ∫ exp(φ - φ(z*)),  φ(z*) - φ(0) = bd0(x, y) if y > x
    lift = np.where(y > x, _bd0(x, y), 0.0)

    def logf(z: FloatArray) -> FloatArray:  # φ_x(z) - φ_x(z*), shape (E, P, G)
        # -(x dz + m expm1(-dz)), computed in place: the same operations on the same
        # operands, so the same bits, without four (E, P, G) temporaries
        dz = z - mode[:, None, None]
        e = np.negative(dz)
        np.expm1(e, out=e)
        e *= m[:, None, None]
        dz *= x[:, None, None]
        dz += e
        return np.negative(dz, out=dz)

    def nodes(edges: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Gauss-Legendre nodes (E, P, G) of the panels and their half-widths (E, P)."""
        lo, hi = edges[:, :-1, None], edges[:, 1:, None]
        half = 0.5 * (hi - lo)
        return lo + half * (1.0 + _GL_NODES), half[:, :, 0]

    def integral(f: FloatArray, half: FloatArray) -> FloatArray:
        """Σ over panels and nodes of half-width × weight × f: shape (E,)."""
        return (np.matmul(f, _GL_WEIGHTS) * half).sum(axis=1)

    # answered-weighted density e^-z f (b = x + 1) has its own scale (<= 1 in z)
    edges1 = _panel_edges(x + 1.0, y)
    # density of Z (b = x): normaliser and abandonment, on the union of both panel sets so
    # that the factor e^-z in 1 - e^-z is resolved even where f is much wider
    z0, h0 = nodes(np.sort(np.concatenate([_panel_edges(x, y), edges1], axis=1), axis=1))
    f0 = logf(z0)
    np.exp(f0, out=f0)
    i0 = integral(f0, h0)
    ab = np.negative(z0)
    np.expm1(ab, out=ab)
    ab *= f0
    i_ab = -integral(ab, h0)
    del ab, f0, z0
    z1, h1 = nodes(edges1)
    f1 = logf(z1)
    f1 -= z1
    np.exp(f1, out=f1)
    i1 = integral(f1, h1)
    if need_z:
        f1 *= z1
        zans = integral(f1, h1) / i0
    else:
        zans = np.full(x.shape, np.nan)
    del f1, z1
    # answered within time: [0, zt]. Where zt lies left of the b = x + 1 mode, the mass
    # there can be far below the panels' range, so build panels down from zt itself.
    edges_t = np.minimum(edges1, zt[:, None])
    below = np.flatnonzero(zt < np.log(np.maximum(y / (x + 1.0), 1.0)))
    if below.size:
        left = _left_edges(x[below] + 1.0, y[below], zt[below])
        pad = np.repeat(zt[below, None], edges_t.shape[1] - left.shape[1], axis=1)
        edges_t[below] = np.concatenate([left, pad], axis=1)
    zc, hc = nodes(edges_t)
    ft = logf(zc)
    ft -= zc
    np.exp(ft, out=ft)
    i_t = integral(ft, hc)
    return _Waiting(
        log_big_a=np.log(x) + lift + np.log(i0),
        p_answer=i1 / i0,
        p_abandon=i_ab / i0,
        p_answer_in_time=i_t / i0,
        z_answer=zans,
    )


def _panel_edges(b: FloatArray, y: FloatArray) -> FloatArray:
    """Panel edges (E, 2L+1) for the log-concave density ∝ exp(-b z - y e^-z) on z >= 0.

    Edges sit where the log-density is ``_DROP (j/L)^2`` below its maximum, j = 0..L on each
    side of the mode (clipped at 0), found by Newton's method on a convex increasing
    function started to the right of the root (so it converges monotonically).
    """
    mode = np.where(y > b, np.log(y / b), 0.0)
    m = np.minimum(b, y)
    levels = _DROP * (np.arange(1, _LEVELS_PER_SIDE + 1) / _LEVELS_PER_SIDE) ** 2
    bb, mm, lv = b[:, None], m[:, None], levels[None, :]
    # right side: g(d) = b d - m (1 - e^-d) = level
    d = lv / bb + 1.0
    for _ in range(40):
        g = bb * d + mm * np.expm1(-d) - lv
        step = d - g / (bb - mm * np.exp(-d))
        converged = np.all(np.abs(step - d) <= 1e-12 * (1.0 + np.abs(d)))
        d = step
        if converged:  # panels need edges near, not exactly at, the levels
            break
    right = mode[:, None] + d
    left = _left_edges(b, y, mode)
    return np.concatenate([left, mode[:, None], right], axis=1)


def _left_edges(b: FloatArray, y: FloatArray, top: FloatArray) -> FloatArray:
    """Edges (E, L) left of ``top`` (ascending, clipped at 0) where the log-density
    ``-b z - y e^-z`` is ``_DROP (j/L)^2`` below its value at ``top``; needs ``y e^-top >= b``
    (the density rises up to ``top``). With m = y e^-top the drop at ``top - d`` is
    ``m (e^d - 1 - d) + (m - b) d``, convex and increasing in d.
    """
    levels = _DROP * (np.arange(1, _LEVELS_PER_SIDE + 1) / _LEVELS_PER_SIDE) ** 2
    mm = (y * np.exp(-top))[:, None]
    slope = np.maximum(mm - b[:, None], 0.0)
    ratio = levels[None, :] / mm
    d = np.minimum(np.sqrt(2.0 * ratio), 2.0 * np.log(2.0 + ratio))
    d = np.minimum(d, levels[None, :] / np.maximum(slope, 1e-300))
    for _ in range(40):
        g = np.expm1(d) - d + (slope / mm) * d - ratio
        step = d - g / np.maximum(np.expm1(d) + slope / mm, 1e-300)
        converged = np.all(np.abs(step - d) <= 1e-12 * (1.0 + np.abs(d)))
        d = step
        if converged:  # panels need edges near, not exactly at, the levels
            break
    return np.maximum(top[:, None] - d, 0.0)[:, ::-1]


def _log_erlang_b_odds(n: FloatArray, a: FloatArray) -> FloatArray:
    """log((1 - B)/B) for Erlang B(n, a), n >= 1, a > 0: log Q(n, a) - log pois(n; a)."""
    from scipy import special

    q = special.gammaincc(n, a)
    out = np.empty(n.shape)
    ok = q > 1e-250
    out[ok] = np.log(q[ok]) - _log_poisson(n[ok], a[ok])
    tiny = np.flatnonzero(~ok)
    if tiny.size:  # a far above n: (1-B)/B = sum_{k=1..n} prod_{i<k} (n - i)/a, terms fall fast
        nn, aa = n[tiny], a[tiny]
        term = nn / aa
        total = term.copy()
        k = 1.0
        active = np.ones(tiny.size, dtype=bool)
        while active.any():
            term = np.where(active, term * np.maximum(nn - k, 0.0) / aa, 0.0)
            total += term
            k += 1.0
            active &= term > 1e-17 * total
        out[tiny] = np.log(total)
    return out


def _log_poisson(k: FloatArray, lam: FloatArray) -> FloatArray:
    """log(e^-lam lam^k / Γ(k+1)) for real k > 0, lam > 0 (Loader's saddle-point form)."""
    return -_stirlerr(k) - _bd0(k, lam) - 0.5 * (_LOG_2PI + np.log(k))


def _stirlerr(k: FloatArray) -> FloatArray:
    """log Γ(k+1) - [(k + 1/2) log k - k + log(2π)/2], accurate for k > 0."""
    big = k > 15
    kb = np.where(big, k, 16.0)
    k2 = 1.0 / (kb * kb)
    series = (1.0 / 12 - k2 * (1.0 / 360 - k2 * (1.0 / 1260 - k2 * (1.0 / 1680 - k2 / 1188)))) / kb
    ks = np.where(big, 1.0, k)
    from scipy import special

    direct = special.gammaln(ks + 1) - (ks + 0.5) * np.log(ks) + ks - 0.5 * _LOG_2PI
    return np.where(big, series, direct)


def _bd0(k: FloatArray, lam: FloatArray) -> FloatArray:
    """k log(k/lam) + lam - k >= 0 without cancellation (Loader 2000)."""
    close = np.abs(k - lam) < 0.1 * (k + lam)
    v = np.where(close, (k - lam) / (k + lam), 0.0)
    s = (k - lam) * v
    ej = 2.0 * k * v
    v2 = v * v
    for j in range(1, 12):
        ej = ej * v2
        s = s + ej / (2 * j + 1)
    direct = k * np.log(k / lam) + lam - k
    return np.where(close, s, direct)
