"""An independent reference for the time-varying queue model (models/00-contract.md,
"Queue models"), written from the contract, not from optistaff.time_varying.

Dense matrices and the action of their exponential (``scipy.sparse.linalg.expm_multiply``:
Al-Mohy and Higham's truncated Taylor series, not uniformization) on a small truncated
chain, and a different
route to every figure: production propagates *cohorts* of arrivals forward with
Poisson-weighted powers of one step matrix; this reference takes each arrival time s
on its own, weighs the state it sees (π(s) = π(start)·e^{Q(s − start)}) by *backward*
value functions of a tagged call (answered by the horizon end, answered within τ,
abandoned, still waiting at the end, and its wait when answered, the last by Van
Loan's block exponential), and integrates over s by Gauss–Legendre quadrature on
panels split where the τ window starts to cross one more boundary. Busy time is the
Van Loan integral of π over the interval.

The system state is (e, k): k calls in the system and e ≥ 1 agents *finishing* a call
after their staffing ended (the simulator's rule: when n drops, busy agents finish
their call; no call starts while more than n are in service), e = 0 otherwise. In
layer e ≥ 1 all n agents are busy too (n + e in service) and k − n − e wait. A tagged
waiting call is (e, j): j − 1 calls wait ahead of it. Rates in an interval (λ, n, μ, θ):

* layer 0: arrivals λ; service completions min(k, n)μ; abandonment (k − n)⁺θ. A tagged
  call moves j → j − 1 at nμ + (j − 1)θ (answered from j = 1 at nμ).
* layer e ≥ 1: arrivals λ; completions (n + e)μ → layer e − 1 (the queue does not move);
  abandonment (k − n − e)θ. A tagged call: (j − 1)θ → j − 1; (n + e)μ → (e − 1, j).
* everyone waiting abandons at θ; at a boundary n → n' with b calls in service: b ≤ n'
  starts min(waiting, n' − b) calls (layer 0), b > n' leaves excess b − n' (the queue
  does not move).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import expm_multiply

GL_X, GL_W = np.polynomial.legendre.leggauss(24)


@dataclass
class RefFigures:
    answered_within: np.ndarray
    answered: np.ndarray
    abandoned: np.ndarray
    waiting_at_end: np.ndarray
    wait_answered_s: np.ndarray
    busy_s: np.ndarray


class _Space:
    """Indices of the system states (e, k) and of the tagged states (e, j), answered,
    abandoned, for layers 0..E, k ≤ K, positions 1..J."""

    def __init__(self, E: int, K: int, J: int) -> None:
        self.E, self.K, self.J = E, K, J
        self.sys = {(e, k): e * (K + 1) + k for e in range(E + 1) for k in range(K + 1)}
        self.tag = {(e, j): e * J + (j - 1) for e in range(E + 1) for j in range(1, J + 1)}
        self.answered = (E + 1) * J
        self.abandoned = self.answered + 1
        self.n_sys = (E + 1) * (K + 1)
        self.n_tag = self.abandoned + 1


def _chain(sp: _Space, lam: float, n: int, mu: float, theta: float) -> np.ndarray:
    Q = np.zeros((sp.n_sys, sp.n_sys))
    for (e, k), i in sp.sys.items():
        if e > 0 and k < n + e:
            continue  # not a state (no mass ever)
        if k < sp.K:
            Q[i, sp.sys[e, k + 1]] += lam
        if e == 0:
            if k > 0:
                Q[i, sp.sys[0, k - 1]] += min(k, n) * mu + max(k - n, 0) * theta
        else:
            Q[i, sp.sys[e - 1, k - 1]] += (n + e) * mu
            if k - n - e > 0:
                Q[i, sp.sys[e, k - 1]] += (k - n - e) * theta
        Q[i, i] = -Q[i].sum()
    return Q


def _tagged(sp: _Space, n: int, mu: float, theta: float) -> np.ndarray:
    G = np.zeros((sp.n_tag, sp.n_tag))
    for (e, j), i in sp.tag.items():
        if e == 0:
            if j == 1:
                G[i, sp.answered] += n * mu
            else:
                G[i, sp.tag[0, j - 1]] += n * mu + (j - 1) * theta
        else:
            if j > 1:
                G[i, sp.tag[e, j - 1]] += (j - 1) * theta
            G[i, sp.tag[e - 1, j]] += (n + e) * mu
        G[i, sp.abandoned] += theta
        G[i, i] = -G[i].sum()
    return G


def _busy(e: int, k: int, n: int) -> int:
    return min(k, n) if e == 0 else n + e


def _system_map(sp: _Space, n: int, n_next: int) -> np.ndarray:
    """Row-stochastic map of the system state across a boundary n → n_next."""
    M = np.zeros((sp.n_sys, sp.n_sys))
    for (e, k), i in sp.sys.items():
        b = _busy(e, k, n)
        if e > 0 and k < n + e:
            M[i, i] = 1.0  # (no mass)
            continue
        target = (0, k) if b <= n_next else (b - n_next, k)
        if target[0] <= sp.E:
            M[i, sp.sys[target]] = 1.0
    return M


def _tag_map(sp: _Space, n: int, n_next: int) -> np.ndarray:
    """Map of a tagged call across a boundary (it waits, so n + e are in service)."""
    M = np.zeros((sp.n_tag, sp.n_tag))
    for (e, j), i in sp.tag.items():
        b = n + e
        if b <= n_next:
            after = j - (n_next - b)
            M[i, sp.answered if after <= 0 else sp.tag[0, after]] = 1.0
        elif b - n_next <= sp.E:
            M[i, sp.tag[b - n_next, j]] = 1.0
        # (else: a layer no call can be in: unreachable)
    M[sp.answered, sp.answered] = 1.0
    M[sp.abandoned, sp.abandoned] = 1.0
    return M


def _seen(sp: _Space, p: np.ndarray, n: int) -> tuple[float, np.ndarray]:
    """What an arrival seeing law p meets: P(answered at once), and its tagged state."""
    immediate = 0.0
    tag = np.zeros(sp.n_tag)
    for (e, k), i in sp.sys.items():
        if p[i] == 0.0:
            continue
        if e == 0 and k < n:
            immediate += p[i]
        else:
            j = k - (n + e) + 1
            if 1 <= j <= sp.J:
                tag[sp.tag[e, j]] += p[i]
    return immediate, tag


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
    K calls, the start state at the horizon start."""
    T = len(calls)
    theta = 0.0 if patience_s is None else 1.0 / patience_s
    # the most agents that can be finishing a call at once
    E = max(0, int(max(agents)) - int(min(agents)), start_in_service - int(min(agents)))
    sp = _Space(E, K, K + 1)
    H = T * interval_s
    rates = [(calls[t] / interval_s, int(agents[t]), 1.0 / aht_s[t]) for t in range(T)]
    Qs = [_chain(sp, lam, n, mu, theta) for lam, n, mu in rates]
    Gs = [_tagged(sp, n, mu, theta) for _lam, n, mu in rates]
    tag_maps = [_tag_map(sp, rates[t][1], rates[t + 1][1]) for t in range(T - 1)]
    sys_maps = [_system_map(sp, rates[t][1], rates[t + 1][1]) for t in range(T - 1)]

    def backward(terminal: np.ndarray, s: float, until: float) -> np.ndarray:
        """Tagged values at time s (in its interval) from ``terminal`` at ``until``."""
        v = terminal.copy()
        t_end = min(int(np.ceil(until / interval_s - 1e-12)) - 1, T - 1)
        t_s = int(s // interval_s)
        for u in range(t_end, t_s - 1, -1):
            a = max(s, u * interval_s)
            b = min(until, (u + 1) * interval_s)
            v = expm_multiply(Gs[u] * (b - a), v)
            if u > t_s:
                v = tag_maps[u - 1] @ v
        return v

    def unit(index: int) -> np.ndarray:
        v = np.zeros(sp.n_tag)
        v[index] = 1.0
        return v

    answered_end = unit(sp.answered)
    abandoned_end = unit(sp.abandoned)
    waiting_end = np.zeros(sp.n_tag)
    waiting_end[: sp.answered] = 1.0
    mask = np.diag(np.r_[np.ones(sp.answered), 0.0, 0.0])  # the wait accrues while waiting
    vanloan = [np.block([[G, mask], [np.zeros_like(G), G]]) for G in Gs]

    def through(t: int, after: dict[str, np.ndarray], length: float) -> dict[str, np.ndarray]:
        """The horizon-end values ``length`` seconds before ``after`` in interval t; the
        wait of an answered call: w(a) = e^{GL} w(b) + ∫ e^{G(u−a)} D e^{G(b−u)} du ans(b)."""
        G = Gs[t] * length
        stacked = expm_multiply(G, np.stack([after["ans"], after["ab"], after["wait"]], axis=1))
        w = expm_multiply(vanloan[t] * length, np.r_[after["w"], after["ans"]])[: sp.n_tag]
        return {"ans": stacked[:, 0], "ab": stacked[:, 1], "wait": stacked[:, 2], "w": w}

    at_end: list[dict[str, np.ndarray]] = [{} for _ in range(T)]
    at_end[T - 1] = {
        "ans": answered_end,
        "ab": abandoned_end,
        "wait": waiting_end,
        "w": np.zeros(sp.n_tag),
    }
    for t in range(T - 2, -1, -1):
        start_next = through(t + 1, at_end[t + 1], interval_s)
        at_end[t] = {k: tag_maps[t] @ v for k, v in start_next.items()}
    # the start state: calls in service beyond n_0 finish (layer), the rest wait
    k0 = start_waiting + start_in_service
    n0 = rates[0][1]
    e0 = max(start_in_service - n0, 0)
    pi_start = (0, k0) if e0 == 0 else (e0, k0)
    pi = np.zeros(sp.n_sys)
    pi[sp.sys[pi_start]] = 1.0
    out = RefFigures(*(np.zeros(T) for _ in range(6)))
    tau = answer_within_s
    busy_of = np.zeros((T, sp.n_sys))
    for t in range(T):
        n = rates[t][1]
        for (e, k), i in sp.sys.items():
            busy_of[t, i] = min(_busy(e, k, n), n)  # the staffed agents' busy time
    for t in range(T):
        lam, n, _mu = rates[t]
        t0 = t * interval_s
        after = at_end[t]
        Q = Qs[t]
        Z = np.zeros_like(Q)
        big = np.block([[Q, np.eye(sp.n_sys)], [Z, Z]]) * interval_s
        integral = expm_multiply(big.T, np.r_[pi, np.zeros(sp.n_sys)])[sp.n_sys :]
        out.busy_s[t] = float(integral @ busy_of[t])
        if lam > 0:
            kinks = {k * interval_s - tau for k in range(1, T + 2)} | {H - t0 - tau}
            cuts = sorted({0.0, interval_s} | {x for x in kinks if 0 < x < interval_s})
            for a, b in itertools.pairwise(cuts):
                for x, wgt in zip(GL_X, GL_W, strict=True):
                    s_rel = a + (b - a) * (x + 1) / 2
                    weight = wgt * (b - a) / 2 * lam
                    p_s = expm_multiply(Q.T * s_rel, pi)
                    s_abs = t0 + s_rel
                    vals = through(t, after, interval_s - s_rel)
                    within = backward(answered_end, s_abs, min(s_abs + tau, H))
                    immediate, seen = _seen(sp, p_s, n)
                    out.answered[t] += weight * (immediate + seen @ vals["ans"])
                    out.abandoned[t] += weight * (seen @ vals["ab"])
                    out.waiting_at_end[t] += weight * (seen @ vals["wait"])
                    out.wait_answered_s[t] += weight * (seen @ vals["w"])
                    out.answered_within[t] += weight * (immediate + seen @ within)
        pi = expm_multiply(Q.T * interval_s, pi)
        if t + 1 < T:
            pi = pi @ sys_maps[t]
    return out
