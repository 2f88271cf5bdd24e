"""An independent reference for the time-varying queue model (models/00-contract.md,
"Queue models"), written from the contract, not from optistaff.time_varying.

Dense matrices and ``scipy.linalg.expm`` on a small truncated chain, and a different
route to every figure: production propagates *cohorts* of arrivals forward with
Poisson-weighted powers of one step matrix; this reference takes each arrival time s
on its own, weighs the state it sees (π(s) = π(start)·e^{Q(s − start)}) by *backward*
value functions of a tagged call's position (answered by the horizon end, answered
within τ, abandoned, still waiting at the end, and its wait when answered, the last by
Van Loan's block exponential), and integrates over s by Gauss–Legendre quadrature on
panels split where the τ window starts to cross the boundary. Busy time is the Van Loan
integral of π over the interval.

Tagged call: position j ≥ 1 (j − 1 waiting ahead), moves to j − 1 at rate nμ + (j − 1)θ,
answered from j = 1 at rate nμ, abandons at rate θ; at a boundary its position moves by
n_t − n_{t+1} (answered when it reaches 0 or below).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm

GL_X, GL_W = np.polynomial.legendre.leggauss(48)


@dataclass
class RefFigures:
    answered_within: np.ndarray
    answered: np.ndarray
    abandoned: np.ndarray
    waiting_at_end: np.ndarray
    wait_answered_s: np.ndarray
    busy_s: np.ndarray


def _chain(lam: float, n: int, mu: float, theta: float, K: int) -> np.ndarray:
    """Generator of the number in system on 0..K, births blocked at K."""
    Q = np.zeros((K + 1, K + 1))
    for k in range(K + 1):
        if k < K:
            Q[k, k + 1] = lam
        death = min(k, n) * mu + max(k - n, 0) * theta
        if k > 0:
            Q[k, k - 1] = death
        Q[k, k] = -Q[k].sum()
    return Q


def _positions(n: int, mu: float, theta: float, J: int) -> np.ndarray:
    """Generator of a tagged call's position 1..J plus answered (index J) and abandoned
    (index J + 1), both absorbing."""
    G = np.zeros((J + 2, J + 2))
    for j in range(1, J + 1):
        i = j - 1
        if j == 1:
            G[i, J] = n * mu
        else:
            G[i, i - 1] = n * mu + (j - 1) * theta
        G[i, J + 1] = theta
        G[i, i] = -G[i].sum()
    return G


def _jump(values: np.ndarray, shift: int, J: int) -> np.ndarray:
    """Values just before a boundary where n rises by ``shift`` (positions j → j − shift;
    ≤ 0: answered) from the values just after it (value vectors over positions and the
    two absorbing states)."""
    out = values.copy()
    for j in range(1, J + 1):
        after = j - shift
        if after <= 0:
            out[j - 1] = values[J]  # answered at the boundary
        elif after <= J:
            out[j - 1] = values[after - 1]
        else:
            out[j - 1] = 0.0  # beyond the truncation (negligible mass)
    return out


def reference(
    calls: np.ndarray,
    aht_s: np.ndarray,
    agents: np.ndarray,
    interval_s: float,
    answer_within_s: float,
    patience_s: float | None,
    K: int,
    start_waiting: int = 0,
    start_in_service: int = 0,
) -> RefFigures:
    """The expected figures per interval (calls arriving in t) on the chain truncated at
    K, the start state at the horizon start."""
    T = len(calls)
    theta = 0.0 if patience_s is None else 1.0 / patience_s
    J = K + 1
    H = T * interval_s
    rates = [(calls[t] / interval_s, int(agents[t]), 1.0 / aht_s[t]) for t in range(T)]
    Qs = [_chain(lam, n, mu, theta, K) for lam, n, mu in rates]
    Gs = [_positions(n, mu, theta, J) for _lam, n, mu in rates]

    def backward(terminal: np.ndarray, s: float, until: float) -> np.ndarray:
        """Values at time s (in its interval) from ``terminal`` at time ``until``."""
        v = terminal.copy()
        t_end = min(int(np.ceil(until / interval_s - 1e-12)) - 1, T - 1)
        t_s = int(s // interval_s)
        for u in range(t_end, t_s - 1, -1):
            a = max(s, u * interval_s)
            b = min(until, (u + 1) * interval_s)
            v = expm(Gs[u] * (b - a)) @ v
            if u > t_s:
                v = _jump(v, rates[u][1] - rates[u - 1][1], J)
        return v

    answered_end = np.zeros(J + 2)
    answered_end[J] = 1.0
    abandoned_end = np.zeros(J + 2)
    abandoned_end[J + 1] = 1.0
    waiting_end = np.zeros(J + 2)
    waiting_end[:J] = 1.0
    mask = np.diag(np.r_[np.ones(J), 0.0, 0.0])  # the wait accrues while waiting
    vanloan = [np.block([[G, mask], [np.zeros_like(G), G]]) for G in Gs]

    def through(t: int, after: dict[str, np.ndarray], length: float) -> dict[str, np.ndarray]:
        """The horizon-end values ``length`` seconds before ``after`` in interval t; the
        wait of an answered call: w(a) = e^{GL} w(b) + ∫ e^{G(u−a)} D e^{G(b−u)} du ans(b)."""
        E = expm(Gs[t] * length)
        Big = expm(vanloan[t] * length)
        size = J + 2
        E11, E12 = Big[:size, :size], Big[:size, size:]
        return {
            "ans": E @ after["ans"],
            "ab": E @ after["ab"],
            "wait": E @ after["wait"],
            "w": E11 @ after["w"] + E12 @ after["ans"],
        }

    # the values at the end of each interval (just before its closing boundary)
    at_end: list[dict[str, np.ndarray]] = [{} for _ in range(T)]
    at_end[T - 1] = {
        "ans": answered_end,
        "ab": abandoned_end,
        "wait": waiting_end,
        "w": np.zeros(J + 2),
    }
    for t in range(T - 2, -1, -1):
        start_next = through(t + 1, at_end[t + 1], interval_s)
        shift = rates[t + 1][1] - rates[t][1]
        at_end[t] = {k: _jump(v, shift, J) for k, v in start_next.items()}
    pi = np.zeros(K + 1)
    pi[start_waiting + start_in_service] = 1.0
    out = RefFigures(*(np.zeros(T) for _ in range(6)))
    tau = answer_within_s
    for t in range(T):
        lam, n, _mu = rates[t]
        t0 = t * interval_s
        after = at_end[t]
        # busy time: ∫ π(u) du over the interval (Van Loan)
        Q = Qs[t]
        Z = np.zeros_like(Q)
        big = expm(np.block([[Q, np.eye(K + 1)], [Z, Z]]) * interval_s)
        integral = pi @ big[: K + 1, K + 1 :]
        out.busy_s[t] = float(integral @ np.minimum(np.arange(K + 1), n))
        if lam > 0:
            # the integrand has a kink where the window begins to cross one more
            # boundary (s = kΔ − τ) or to reach the horizon end
            kinks = {k * interval_s - tau for k in range(1, T + 2)} | {H - t0 - tau}
            cuts = sorted({0.0, interval_s} | {x for x in kinks if 0 < x < interval_s})
            pieces = list(itertools.pairwise(cuts))
            for a, b in pieces:
                if b <= a:
                    continue
                for x, wgt in zip(GL_X, GL_W, strict=True):
                    s_rel = a + (b - a) * (x + 1) / 2
                    weight = wgt * (b - a) / 2 * lam
                    p_s = pi @ expm(Q * s_rel)
                    s_abs = t0 + s_rel
                    vals = through(t, after, interval_s - s_rel)
                    within = backward(answered_end, s_abs, min(s_abs + tau, H))
                    immediate = float(p_s[:n].sum())
                    seen = np.zeros(J + 2)  # positions seen by the arrival
                    for k in range(n, K + 1):
                        seen[k - n] += p_s[k]
                    out.answered[t] += weight * (immediate + seen @ vals["ans"])
                    out.abandoned[t] += weight * (seen @ vals["ab"])
                    out.waiting_at_end[t] += weight * (seen @ vals["wait"])
                    out.wait_answered_s[t] += weight * (seen @ vals["w"])
                    out.answered_within[t] += weight * (immediate + seen @ within)
        pi = pi @ expm(Q * interval_s)
    return out
