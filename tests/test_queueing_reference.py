"""Independent high-precision reference for Erlang C and Erlang A (mpmath, 40 digits).

Written from the birth–death chain of models/00-contract.md, not from optistaff.queueing: state
probabilities are summed term by term (π_j ∝ a^j/j! for j <= n, π_{n+k} = π_n ∏_{i<=k} λ/(nμ+iθ)),
abandonment is θ E[Q]/λ, and the mean wait of answered calls is summed over the queue
length k found by an arriving call: with k calls ahead it is answered with probability
x/(x+k+1) and E[W 1{answered} | k] = (x/θ) H_k/(x+k+1), H_k = Σ_{i=1..k+1} 1/(x+i)
(x = nμ/θ); derived by first-step analysis on the caller's position in the queue. The
service level of waiting calls uses the closed form of field-notes §3.2 evaluated as a
difference of regularised lower incomplete gammas, each summed from its power series at
high precision (adaptive quadrature where that difference would cancel). Slow: for tests only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath as mp

DPS = 40


@dataclass(frozen=True)
class Ref:
    service_level: float
    abandon_rate: float
    asa_s: float
    occupancy: float


def reference(
    calls: float,
    aht_s: float,
    interval_s: float,
    answer_within_s: float,
    agents: int,
    patience_s: float | None = None,
) -> Ref:
    """SL, abandon rate, ASA (s), occupancy per models/00-contract.md; NaN for null."""
    nan = math.nan
    with mp.workdps(DPS):
        lam = mp.mpf(calls) / interval_s  # per second
        h = mp.mpf(aht_s)
        a = lam * h
        t = mp.mpf(answer_within_s)
        n = int(agents)
        if calls == 0:
            return Ref(nan, 0.0, nan, nan)
        if n == 0:
            return Ref(0.0, 0.0 if patience_s is None else 1.0, nan, nan)
        # Σ_{j<=n} a^j/j!, scaled by its last term to stay in range
        head = mp.mpf(0)
        term = mp.mpf(1)  # a^j/j! / (a^n/n!) built from j = n downwards
        for j in range(n, -1, -1):
            head += term
            term = term * j / a
        # head = Σ_{j<=n} π_j / π_n
        if patience_s is None:
            if n <= a:
                return Ref(0.0, 0.0, nan, 1.0)
            tail = n / (n - a)  # Σ_{k>=0} (a/n)^k
            pw = tail / (head - 1 + tail)
            sl = 1 - pw * mp.exp(-(n - a) * t / h)
            asa = pw * h / (n - a)
            return Ref(float(sl), 0.0, float(asa), float(a / n))
        p = mp.mpf(patience_s)
        theta = 1 / p
        x = n * p / h
        y = lam * p
        # queue part: t_k = ∏_{i<=k} y/(x+i); sums until negligible past the peak
        tk = mp.mpf(1)
        s0 = s1 = s_ans = s_w = mp.mpf(0)
        harm = mp.mpf(0)
        k = 0
        eps = mp.mpf(10) ** (-DPS + 5)
        while True:
            harm += 1 / (x + k + 1)
            s0 += tk
            s1 += k * tk
            s_ans += tk * x / (x + k + 1)
            s_w += tk * (x / theta) * harm / (x + k + 1)
            k += 1
            tk = tk * y / (x + k)
            if k > y - x and tk < eps * s0:
                break
        norm = head - 1 + s0
        pw = s0 / norm
        p_now = (head - 1) / norm
        abandon = (s1 / norm) * theta / lam  # θ E[Q] / λ
        answered = p_now + s_ans / norm
        asa = (s_w / norm) / answered
        yt = y * mp.exp(-theta * t)
        within_given_wait = (x / y) * _lower_between(x + 1, yt, y) / _lower(x, y)
        sl = p_now + pw * within_given_wait
        occ = min(mp.mpf(1), a * answered / n)
        return Ref(float(sl), float(abandon), float(asa), float(occ))


def _lower(s: mp.mpf, u: mp.mpf) -> mp.mpf:
    """Regularised lower incomplete gamma P(s, u) = e^-u u^s/Γ(s+1) Σ_k u^k/((s+1)...(s+k))."""
    if u == 0:
        return mp.mpf(0)
    total = term = mp.mpf(1)
    k = 0
    eps = mp.mpf(10) ** (-DPS + 5)
    while True:
        k += 1
        term = term * u / (s + k)
        total += term
        if k > u - s and term < eps * total:
            break
    return mp.exp(-u + s * mp.log(u) - mp.loggamma(s + 1)) * total


def _lower_between(s: mp.mpf, u0: mp.mpf, u1: mp.mpf) -> mp.mpf:
    """P(s, u1) - P(s, u0), from the series where that is well conditioned, else by
    adaptive quadrature of u^(s-1) e^-u / Γ(s) over [u0, u1] (split at the mode)."""
    if u1 <= u0:
        return mp.mpf(0)
    hi, lo = _lower(s, u1), _lower(s, u0)
    if hi - lo > mp.mpf(10) ** -15 * hi:
        return hi - lo
    log_norm = mp.loggamma(s)
    peak = min(max(s - 1, u0), u1)
    shift = (s - 1) * mp.log(peak) - peak - log_norm

    def f(u: mp.mpf) -> mp.mpf:
        return mp.exp((s - 1) * mp.log(u) - u - log_norm - shift)

    points = sorted({u0, peak, u1})
    return mp.quad(f, points) * mp.exp(shift)
