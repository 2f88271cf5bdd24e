"""The compiled sweeps of the time-varying model (:mod:`optistaff.time_varying`).

One uniformization sweep of the chain and the cohorts (:func:`_sweep`), the backward
values of a waiting call (:func:`backward`), the maps across a boundary, and the day of
one queue that runs them (:func:`queue_day`, one compiled call per queue: the Python
driver cost about 1 ms an interval, more than the kernels on small queues);
``models/12-time-varying.md`` has the equations. numba compiles them on first use and
caches the machine code next to this file; ``OPTISTAFF_NO_JIT=1`` runs the same loops
as plain Python (same numbers, far slower).

They live in one file on purpose: numba invalidates its cache per source file, not per
callee, so a day compiled in another file kept calling the sweeps it was compiled with
after they changed (a stale cache ran L-short twice as slowly).

The system state is (e, k): k calls in the system; e ≥ 1 agents finishing a call
after their staffing ended (the simulator's rule: when n drops, busy agents finish
their call and no call starts while n or more are in service), e = 0 otherwise. In
layer e ≥ 1 the n staffed agents are busy too and k − n − e calls wait. A waiting call
of a cohort is at (e, j): j − 1 calls wait ahead of it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
F = TypeVar("F", bound=Callable[..., Any])

#: Entries below this (probabilities, expected calls) count as empty when a sweep decides
#: how far the states and positions it must compute reach (error below 1e-18 per step).
NEGLIGIBLE = 1e-18


def _jit(func: F) -> F:
    if os.environ.get("OPTISTAFF_NO_JIT"):
        return func
    import numba

    return cast(F, numba.njit(cache=True, nogil=True)(func))


@_jit
def poisson(rate_time: float, tail: float) -> FloatArray:
    """Pois(m; rate_time) for m = 0..M (log space), M the first index whose upper tail
    is below ``tail``."""
    if rate_time <= 0.0:
        return np.ones(1)
    top = math.ceil(rate_time + 10.0 * math.sqrt(rate_time) + 30.0)
    w = np.empty(top + 1)
    log_r = math.log(rate_time)
    acc = -rate_time
    w[0] = math.exp(acc)
    for m in range(1, top + 1):
        acc += log_r - math.log(m)
        w[m] = math.exp(acc)
    # drop the far tail
    upper = 0.0
    cut = top + 1
    for m in range(top, -1, -1):
        upper += w[m]
        if upper >= tail:
            cut = m + 1
            break
    return w[: max(cut, 1)].copy()


@_jit
def _layer_rates(
    lam: float, n: int, mu: float, theta: float, E1: int, S: int, ltop: int = -1, reach: int = -1
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, float]:
    """Per layer e and state/position index i: the π outflow (birth + completions +
    abandonment), the cohort's move down (to j − 1 in its layer; answered from (0, 1)),
    the completion rate of layer e (→ e − 1), and the cohort's total outflow; and the
    uniformization rate: at least every outflow of the layers up to ``ltop`` and the
    states up to ``reach`` (default: all), where the mass can be during the sweep
    (layers only drain; beyond ``reach`` lies less than 1e-20 of it)."""
    ltop = E1 - 1 if ltop < 0 else min(ltop, E1 - 1)
    reach = S - 1 if reach < 0 else min(reach, S - 1)
    out_pi = np.zeros((E1, S))
    down = np.zeros((E1, S))
    comp = np.zeros(E1)
    out_c = np.zeros((E1, S))
    rate = 0.0
    for e in range(E1):
        comp[e] = (n + e) * mu if e > 0 else 0.0
        for k in range(S):
            if e == 0:
                death = min(k, n) * mu + max(k - n, 0) * theta
            else:
                death = (n + e) * mu + max(k - n - e, 0) * theta
            out_pi[e, k] = lam + death
            j = k + 1  # position of index k
            d = n * mu + (j - 1) * theta if e == 0 else (j - 1) * theta
            down[e, k] = d
            out_c[e, k] = d + comp[e] + theta
            if e <= ltop and k <= reach:
                rate = max(rate, out_pi[e, k], out_c[e, k])
    return out_pi, down, comp, out_c, max(rate, 1e-300)


@_jit
def _shift_rows(
    C: FloatArray,
    A: FloatArray,
    shifted: npt.NDArray[np.bool_],
    end_c: FloatArray,
    end_a: FloatArray,
    head: FloatArray,
    waits: FloatArray,
    n: int,
    mu: float,
    length: float,
    tail: float,
) -> None:
    """The cohorts ``shifted`` over ``length`` seconds without abandonment, exactly: a
    waiting call in layer e (e agents finishing) waits for the layers to drain, e → e − 1
    at (n + e)μ, then its position falls at nμ; none of it depends on its position. So
    the process Z (the layer, then the number N of positions fallen) is solved once per
    starting layer by uniformization, and each row's end is its start shifted by Z: the
    call at index j is answered once N > j, at a time whose expectation comes from the
    integral of P(N(u) > j). Rows are written into ``end_c``, ``end_a`` (replacing what is
    there), and their answered calls and waits added to ``head`` and ``waits``."""
    R, E1, S = C.shape
    top = 0  # the highest layer these rows hold
    for r in range(R):
        if shifted[r]:
            for e in range(E1):
                for j in range(S):
                    if C[r, e, j] > NEGLIGIBLE or A[r, e, j] > NEGLIGIBLE:
                        top = max(top, e)
    rate = (n + top) * mu
    w = np.ones(1) if rate <= 0.0 else poisson(rate * length, tail)
    steps = w.shape[0]
    tw = np.zeros(steps)
    upper = 0.0
    for m in range(steps - 1, -1, -1):
        tw[m] = upper / rate if rate > 0.0 else length
        upper += w[m]
    if rate <= 0.0:
        tw[0] = length
    nmax = steps  # N cannot exceed the number of steps
    pe = np.zeros((top + 1, top + 1))  # layer at the end (e ≥ 1), per starting layer
    pn = np.zeros((top + 1, nmax + 1))  # (layer 0, N) at the end
    integ = np.zeros((top + 1, nmax + 1))  # ∫ P(layer 0, N) du over the sweep
    inv = 1.0 / rate if rate > 0.0 else 0.0
    for e0 in range(top + 1):
        z = np.zeros(top + 1)  # layers 1..top (index 0 unused)
        z0 = np.zeros(nmax + 1)
        if e0 == 0:
            z0[0] = 1.0
        else:
            z[e0] = 1.0
        nz = np.zeros_like(z)
        nz0 = np.zeros_like(z0)
        for m in range(steps):
            if m > 0:
                for e in range(1, top + 1):
                    v = (1.0 - (n + e) * mu * inv) * z[e]
                    if e + 1 <= top:
                        v += (n + e + 1) * mu * inv * z[e + 1]
                    nz[e] = v
                stay0 = 1.0 - n * mu * inv
                nz0[0] = stay0 * z0[0] + ((n + 1) * mu * inv * z[1] if top >= 1 else 0.0)
                for k in range(1, min(m, nmax) + 1):
                    nz0[k] = stay0 * z0[k] + n * mu * inv * z0[k - 1]
                z, nz = nz, z
                z0, nz0 = nz0, z0
            for e in range(1, top + 1):
                pe[e0, e] += w[m] * z[e]
            for k in range(min(m, nmax) + 1):
                pn[e0, k] += w[m] * z0[k]
                integ[e0, k] += tw[m] * z0[k]
    # P(N(T) > j) and ∫ P(N(u) > j) du, per starting layer
    above = np.zeros((top + 1, nmax + 2))
    above_int = np.zeros((top + 1, nmax + 2))
    for e0 in range(top + 1):
        for k in range(nmax, -1, -1):
            above[e0, k] = above[e0, k + 1] + pn[e0, k]
            above_int[e0, k] = above_int[e0, k + 1] + integ[e0, k]
    for r in range(R):
        if not shifted[r]:
            continue
        for e in range(E1):
            for j in range(S):
                end_c[r, e, j] = 0.0
                end_a[r, e, j] = 0.0
        for e0 in range(top + 1):
            nlo, nhi = nmax + 1, -1
            for k in range(nmax + 1):
                if pn[e0, k] > NEGLIGIBLE:
                    nlo, nhi = min(nlo, k), max(nhi, k)
            for j0 in range(S):
                c0 = C[r, e0, j0]
                a0 = A[r, e0, j0]
                if c0 <= NEGLIGIBLE and a0 <= NEGLIGIBLE:
                    continue
                aged = a0 + length * c0  # still waiting at the end: older by the sweep
                for e in range(1, top + 1):
                    end_c[r, e, j0] += c0 * pe[e0, e]
                    end_a[r, e, j0] += aged * pe[e0, e]
                for k in range(nlo, min(nhi, j0) + 1):
                    end_c[r, 0, j0 - k] += c0 * pn[e0, k]
                    end_a[r, 0, j0 - k] += aged * pn[e0, k]
                if j0 + 1 <= nmax:
                    answered = above[e0, j0 + 1]
                    head[r] += c0 * answered
                    waits[r] += a0 * answered + c0 * (length * answered - above_int[e0, j0 + 1])


@_jit
def _held(c: FloatArray, a: FloatArray, r: int, j: int, top: int) -> bool:
    """Does cohort row r hold mass (or age) at position index j in a layer up to top?"""
    for e in range(top + 1):  # noqa: SIM110 (numba compiles loops, not any() of a generator)
        if c[r, e, j] > NEGLIGIBLE or a[r, e, j] > NEGLIGIBLE:
            return True
    return False


@_jit
def _clear(c: FloatArray, nc: FloatArray, a: FloatArray, na: FloatArray, r: int, j: int) -> None:
    """Zero row r's position index j in every layer of both buffers (a stale value must
    not come back when the band grows again)."""
    for e in range(c.shape[1]):
        c[r, e, j] = 0.0
        nc[r, e, j] = 0.0
        a[r, e, j] = 0.0
        na[r, e, j] = 0.0


@_jit
def _sweep(
    pi: FloatArray,
    C: FloatArray,
    A: FloatArray,
    cur: int,
    lam: float,
    n: int,
    mu: float,
    theta: float,
    length: float,
    node_times: FloatArray,
    tail: float,
) -> tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray
]:
    """Propagate π (layers × states), the cohorts C and their age sums A (rows × layers ×
    positions; arrivals join row ``cur``) over ``length`` seconds at constant rates.
    Returns the end values, ∫π (layers × states), per row ∫answered-from-the-head,
    ∫abandonment and ∫waits-of-answered, and π at ``node_times`` (nodes × layers ×
    states)."""
    E1, S = pi.shape
    R = C.shape[0]
    # where the mass can be during the sweep: layers up to the highest held now (they
    # only drain), states up to the highest held now plus a 1e-20 quantile of arrivals
    ltop = 0
    top = 0
    for e in range(E1):
        for k in range(S):
            if pi[e, k] > NEGLIGIBLE:
                ltop = max(ltop, e)
                top = max(top, k)
    for r in range(R):
        for e in range(E1):
            for j in range(S):
                if C[r, e, j] > NEGLIGIBLE or A[r, e, j] > NEGLIGIBLE:
                    ltop = max(ltop, e)
                    top = max(top, j + n + e)
    arrivals = lam * length
    reach = top + int(arrivals + 10.0 * math.sqrt(arrivals) + 20.0)
    out_pi, down, comp, out_c, rate = _layer_rates(lam, n, mu, theta, E1, S, ltop, reach)
    w = poisson(rate * length, tail)
    nodes = node_times.shape[0]
    top = w.shape[0]
    wn = []
    for q in range(nodes):
        wq = poisson(rate * node_times[q], tail)
        wn.append(wq)
        top = max(top, wq.shape[0])
    steps = top
    wfull = np.zeros(steps)
    wfull[: w.shape[0]] = w
    # integral weights: P(N(rate·T) > m) / rate
    tw = np.zeros(steps)
    upper = 0.0
    for m in range(w.shape[0] - 1, -1, -1):
        tw[m] = upper / rate
        upper += w[m]
    wnode = np.zeros((nodes, steps))
    for q in range(nodes):
        wnode[q, : wn[q].shape[0]] = wn[q]
    x = pi.copy()
    c = C.copy()
    a = A.copy()
    nx = np.zeros_like(x)
    nc = np.zeros_like(c)
    na = np.zeros_like(a)
    end_pi = wfull[0] * x
    end_c = wfull[0] * c
    end_a = wfull[0] * a
    int_pi = tw[0] * x
    head = np.zeros(R)
    gone = np.zeros(R)
    waits = np.zeros(R)
    node_pi = np.zeros((nodes, E1, S))
    for q in range(nodes):
        node_pi[q] = wnode[q, 0] * x
    # the bands that hold mass: states [plo, phi] of π; positions [clo[r], chi[r]] of
    # cohort r; layers up to etop (π) and ctop (cohorts) — layers only feed the one
    # below them, π moves one state per step, a cohort only down, or up by arrivals
    plo, phi, etop = S, 0, 0
    for e in range(E1):
        for k in range(S):
            if x[e, k] > NEGLIGIBLE:
                plo, phi, etop = min(plo, k), max(phi, k), max(etop, e)
    plo = min(plo, phi)
    clo = np.full(R, S - 1)
    chi = np.zeros(R, dtype=np.int64)
    ctop = 0
    for r in range(R):
        for e in range(E1):
            for j in range(S):
                if c[r, e, j] > NEGLIGIBLE or a[r, e, j] > NEGLIGIBLE:
                    clo[r] = min(clo[r], j)
                    chi[r] = max(chi[r], j)
                    ctop = max(ctop, e)
        clo[r] = min(clo[r], chi[r])
    inv = 1.0 / rate
    birth = lam * inv
    # without abandonment a waiting call's future does not depend on its position: the
    # cohorts of earlier intervals move by one shared process (:func:`_shift_rows`)
    shifted = np.zeros(R, dtype=np.bool_)
    if theta == 0.0:
        for r in range(R):
            shifted[r] = r != cur
    for r in range(R):
        if shifted[r]:
            continue
        for e in range(E1):
            s = 0.0
            for j in range(S):
                s += c[r, e, j]
            gone[r] += tw[0] * s * theta
        head[r] += tw[0] * c[r, 0, 0] * n * mu
        waits[r] += tw[0] * a[r, 0, 0] * n * mu
    for m in range(1, steps):
        k0 = max(plo - 1, 0)
        k1 = min(phi + 2, S)  # (exclusive)
        # π: arrivals, completions (and finishing agents: layer e → e − 1), abandonment
        for e in range(etop + 1):
            for k in range(max(k0, n + e) if e > 0 else k0, k1):
                v = max(1.0 - out_pi[e, k] * inv, 0.0) * x[e, k]
                if k > 0:
                    v += birth * x[e, k - 1]
                if k + 1 < S:
                    if e == 0:
                        v += (min(k + 1, n) * mu + max(k + 1 - n, 0) * theta) * inv * x[0, k + 1]
                    else:
                        v += max(k + 1 - n - e, 0) * theta * inv * x[e, k + 1]
                    if e + 1 < E1:
                        v += comp[e + 1] * inv * x[e + 1, k + 1]
                nx[e, k] = v
        # arrivals that wait join cohort ``cur`` at index k − n − e (position k − n − e + 1)
        if k1 - 1 - n > chi[cur]:
            chi[cur] = min(k1 - 1 - n, S - 1)
            if clo[cur] > chi[cur]:
                clo[cur] = chi[cur]
        ctop = max(ctop, etop)
        for r in range(R):
            if shifted[r]:
                continue
            j0 = max(clo[r] - 1, 0)
            j1 = min(chi[r] + 1, S)
            if r == cur:
                j0 = 0 if k0 <= n + etop else min(j0, k0 - n - etop)
                j0 = max(j0, 0)
            for e in range(ctop + 1):
                for j in range(j0, j1):
                    stay = max(1.0 - out_c[e, j] * inv, 0.0)
                    v = stay * c[r, e, j]
                    u = stay * a[r, e, j] + c[r, e, j] * inv
                    if j + 1 < S:
                        v += down[e, j + 1] * inv * c[r, e, j + 1]
                        u += down[e, j + 1] * inv * a[r, e, j + 1]
                    if e + 1 < E1:
                        v += comp[e + 1] * inv * c[r, e + 1, j]
                        u += comp[e + 1] * inv * a[r, e + 1, j]
                    nc[r, e, j] = v
                    na[r, e, j] = u
            clo[r] = j0
        for e in range(etop + 1):
            first = n + e if e > 0 else n
            for k in range(max(first, k0), k1):
                j = k - n - e
                if j < S:
                    nc[cur, e, j] += birth * x[e, k]
        x, nx = nx, x
        c, nc = nc, c
        a, na = na, a
        # the bands after the step
        phi = k1 - 1
        while phi > k0:
            held = False
            for e in range(etop + 1):
                if x[e, phi] > NEGLIGIBLE:
                    held = True
            if held:
                break
            for e in range(E1):  # (both buffers: a stale value must not come back)
                x[e, phi] = 0.0
                nx[e, phi] = 0.0
            phi -= 1
        plo = k0
        while plo < phi:
            held = False
            for e in range(etop + 1):
                if x[e, plo] > NEGLIGIBLE:
                    held = True
            if held:
                break
            for e in range(E1):
                x[e, plo] = 0.0
                nx[e, plo] = 0.0
            plo += 1
        while etop > 0:
            mass = 0.0
            for k in range(k0, k1):
                mass += x[etop, k]
            if mass > NEGLIGIBLE:
                break
            for k in range(S):
                x[etop, k] = 0.0
                nx[etop, k] = 0.0
            etop -= 1
        wm = wfull[m]
        tm = tw[m]
        for e in range(etop + 1):
            for k in range(k0, k1):
                end_pi[e, k] += wm * x[e, k]
                int_pi[e, k] += tm * x[e, k]
        for r in range(R):
            if shifted[r]:
                continue
            j0, j1 = clo[r], min(chi[r] + 1, S)
            for e in range(ctop + 1):
                s = 0.0
                for j in range(j0, j1):
                    end_c[r, e, j] += wm * c[r, e, j]
                    end_a[r, e, j] += wm * a[r, e, j]
                    s += c[r, e, j]
                gone[r] += tm * s * theta
            head[r] += tm * c[r, 0, 0] * n * mu
            waits[r] += tm * a[r, 0, 0] * n * mu
            # shrink the row's band where it has emptied
            while chi[r] > clo[r] and not _held(c, a, r, chi[r], ctop):
                _clear(c, nc, a, na, r, chi[r])
                chi[r] -= 1
            while clo[r] < chi[r] and not _held(c, a, r, clo[r], ctop):
                _clear(c, nc, a, na, r, clo[r])
                clo[r] += 1
        for q in range(nodes):
            wq = wnode[q, m]
            if wq != 0.0:
                for e in range(etop + 1):
                    for k in range(k0, k1):
                        node_pi[q, e, k] += wq * x[e, k]
    if shifted.any():
        _shift_rows(C, A, shifted, end_c, end_a, head, waits, n, mu, length, tail)
    return end_pi, end_c, end_a, int_pi, head, gone, waits, node_pi


@_jit
def arrival_value(p: FloatArray, V: FloatArray, n: int) -> float:
    """Σ over states (e, k) of p[e, k] × the value for an arrival there: 1 when it is
    answered at once (layer 0, k < n), else V[e, j − 1] at its position j = k − n − e + 1."""
    E1, S = p.shape
    total = 0.0
    for k in range(min(n, S)):
        total += p[0, k]
    for e in range(E1):
        first = n + e
        for k in range(first, S):
            j = k - first
            if j < V.shape[1] and e < V.shape[0]:
                total += p[e, k] * V[e, j]
    return total


@_jit
def backward(
    V: FloatArray,
    lengths: FloatArray,
    n: int,
    mu: float,
    theta: float,
    tail: float,
) -> FloatArray:
    """Rows V[i] (values on (layer, position) at a deadline; answered = 1, abandoned =
    0) carried backward over ``lengths[i]`` seconds at constant rates: the probability
    of being answered by the deadline from each (layer, position)."""
    rows, E1, S = V.shape
    _out_pi, down, comp, out_c, rate = _layer_rates(0.0, n, mu, theta, E1, S)
    wl = []
    top = 1
    for i in range(rows):
        wi = poisson(rate * lengths[i], tail)
        wl.append(wi)
        top = max(top, wi.shape[0])
    wm = np.zeros((rows, top))
    for i in range(rows):
        wm[i, : wl[i].shape[0]] = wl[i]
    inv = 1.0 / rate
    v = V.copy()
    nv = np.zeros_like(v)
    acc = np.zeros_like(v)
    # a value is answered-by-the-deadline: from position j it takes j + 1 falls, one per
    # step at most, so after m steps only positions up to (the highest held at the
    # deadline) + m hold anything: the band [0, hi] grows by one a step (exact)
    hi = -1
    for i in range(rows):
        acc[i] = wm[i, 0] * v[i]
        for e in range(E1):
            for j in range(S - 1, hi, -1):
                if v[i, e, j] != 0.0:
                    hi = j
                    break
    for m in range(1, top):
        hi = min(hi + 1, S - 1)
        for i in range(rows):
            for e in range(E1):
                for j in range(hi + 1):
                    u = (1.0 - out_c[e, j] * inv) * v[i, e, j]
                    if j > 0:
                        u += down[e, j] * inv * v[i, e, j - 1]
                    elif e == 0:
                        u += down[0, 0] * inv  # answered from (0, 1)
                    if e > 0:
                        u += comp[e] * inv * v[i, e - 1, j]
                    nv[i, e, j] = u
        v, nv = nv, v
        for i in range(rows):
            wi = wm[i, m]
            if wi != 0.0:
                for e in range(E1):
                    for j in range(hi + 1):
                        acc[i, e, j] += wi * v[i, e, j]
    return acc


@_jit
def tagged_before(after: FloatArray, n_old: int, n_new: int, E1_old: int) -> FloatArray:
    """Values just before a boundary n_old → n_new from the values just after it, for a
    waiting call in layer e (n_old + e in service): if n_old + e ≤ n_new, n_new −
    (n_old + e) calls start and its position falls by as many (answered at ≤ 0, into
    layer 0); else it moves to layer n_old + e − n_new at the same position."""
    rows, E1_new, S = after.shape
    out = np.zeros((rows, E1_old, S))
    for e in range(E1_old):
        b = n_old + e
        for j in range(S):
            if b <= n_new:
                to = j - (n_new - b)
                for i in range(rows):
                    out[i, e, j] = 1.0 if to < 0 else after[i, 0, to]
            else:
                le = b - n_new
                if le < E1_new:
                    for i in range(rows):
                        out[i, e, j] = after[i, le, j]
    return out


@_jit
def map_system(pi: FloatArray, n_old: int, n_new: int) -> FloatArray:
    """π across a boundary n_old → n_new: b calls in service (layer 0: min(k, n_old);
    layer e: n_old + e); b ≤ n_new: layer 0 (waiting calls start); else layer b − n_new."""
    E1, S = pi.shape
    top = 0
    for e in range(E1):
        for k in range(S):
            if pi[e, k] > NEGLIGIBLE:
                b = min(k, n_old) if e == 0 else n_old + e
                top = max(top, b - n_new)
    out = np.zeros((top + 1, S))
    for e in range(E1):
        for k in range(S):
            if pi[e, k] > NEGLIGIBLE:
                b = min(k, n_old) if e == 0 else n_old + e
                le = b - n_new if b > n_new else 0
                out[le, k] += pi[e, k]
    return out


@_jit
def map_cohorts(
    C: FloatArray, A: FloatArray, n_old: int, n_new: int, E1_new: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Cohorts and age sums across a boundary (as :func:`tagged_before`, forward); per
    row, the calls answered at the boundary and the sum of their waits."""
    R, E1, S = C.shape
    top = E1_new - 1
    for e in range(E1):
        b = n_old + e
        if b > n_new:
            held = False
            for r in range(R):
                for j in range(S):
                    if C[r, e, j] > NEGLIGIBLE or A[r, e, j] > NEGLIGIBLE:
                        held = True
            if held:
                top = max(top, b - n_new)
    nc = np.zeros((R, top + 1, S))
    na = np.zeros((R, top + 1, S))
    answered = np.zeros(R)
    waits = np.zeros(R)
    for r in range(R):
        for e in range(E1):
            b = n_old + e
            for j in range(S):
                cv, av = C[r, e, j], A[r, e, j]
                if cv <= NEGLIGIBLE and av <= NEGLIGIBLE:
                    continue
                if b <= n_new:
                    to = j - (n_new - b)
                    if to < 0:
                        answered[r] += cv
                        waits[r] += av
                    else:
                        nc[r, 0, to] += cv
                        na[r, 0, to] += av
                else:
                    nc[r, b - n_new, j] += cv
                    na[r, b - n_new, j] += av
    return nc, na, answered, waits


@_jit
def _pad(x: FloatArray, E1: int) -> FloatArray:
    """``x`` (rows × layers × positions) with at least ``E1`` layers (zeros added)."""
    if x.shape[1] >= E1:
        return x
    out = np.zeros((x.shape[0], E1, x.shape[2]))
    out[:, : x.shape[1], :] = x
    return out


@_jit
def _pad2(x: FloatArray, E1: int) -> FloatArray:
    """``x`` (layers × states) with at least ``E1`` layers."""
    if x.shape[0] >= E1:
        return x
    out = np.zeros((E1, x.shape[1]))
    out[: x.shape[0], :] = x
    return out


@_jit
def _panels(
    lam: FloatArray,
    agents: npt.NDArray[np.int64],
    mu: FloatArray,
    t: int,
    reach: int,
    theta: float,
    layers: int,
    start: float,
    length: float,
    kinks: FloatArray,
    glx: FloatArray,
    glw: FloatArray,
    rate_length: float,
) -> tuple[FloatArray, FloatArray]:
    """Composite Gauss–Legendre nodes (seconds from the interval's start) and weights on
    [start, start + length]: split at ``kinks`` (where the τ windows begin to cross one
    more boundary), in panels of at most ``rate_length`` / (the natural rate: arrivals,
    service, abandonment of every interval t..reach − 1 the windows touch)."""
    natural = 0.0
    for i in range(t, reach):
        natural = max(natural, lam[i] + (agents[i] + layers) * mu[i] + theta)
    cuts = [0.0]
    for k in np.sort(kinks):
        if 0.0 < k < length:
            cuts.append(k)
    cuts.append(length)
    edges = []
    for i in range(len(cuts) - 1):
        lo, hi = cuts[i], cuts[i + 1]
        panels = max(1, math.ceil(natural * (hi - lo) / rate_length))
        for p in range(panels):
            edges.append(lo + (hi - lo) * p / panels)
    edges.append(length)
    count = (len(edges) - 1) * glx.shape[0]
    nodes = np.empty(count)
    weights = np.empty(count)
    i = 0
    for p in range(len(edges) - 1):
        half = (edges[p + 1] - edges[p]) / 2
        mid = (edges[p + 1] + edges[p]) / 2
        for g in range(glx.shape[0]):
            nodes[i] = start + mid + half * glx[g]
            weights[i] = half * glw[g]
            i += 1
    return nodes, weights


@_jit
def _window_values(
    agents: npt.NDArray[np.int64],
    mu: FloatArray,
    theta: float,
    t: int,
    starts: FloatArray,
    ends: FloatArray,
    horizon_end: float,
    layers: int,
    width: int,
    delta: float,
    tail: float,
) -> FloatArray:
    """V_i[e, j] = P(a call waiting at (layer e, position j + 1) at time ``starts[i]``
    (in interval t) is answered by ``ends[i]``), every boundary on the way seen, nothing
    answered after the horizon end, for the first ``width`` positions."""
    T = agents.shape[0]
    count = starts.shape[0]
    last = np.empty(count, dtype=np.int64)
    top = t
    for i in range(count):
        end = min(ends[i], horizon_end)
        ends[i] = end
        li = math.ceil(end / delta - 1e-12) - 1
        li = max(min(li, T - 1), t)
        last[i] = li
        top = max(top, li)
    E1 = layers
    for u in range(t + 1, top + 1):
        E1 += max(0, agents[u - 1] - agents[u])
    values = np.zeros((count, E1, width))
    for u in range(top, t - 1, -1):
        active = np.nonzero(last >= u)[0]
        if active.shape[0] == 0:
            continue
        lengths = np.empty(active.shape[0])
        for a in range(active.shape[0]):
            i = active[a]
            seg_end = ends[i] if last[i] == u else (u + 1) * delta
            seg_begin = starts[i] if u == t else u * delta
            lengths[a] = max(seg_end - seg_begin, 0.0)
        sub = values[active]
        sub = backward(sub, lengths, agents[u], mu[u], theta, tail)
        if u > t:
            sub = tagged_before(sub, agents[u - 1], agents[u], E1)
        values[active] = sub
    return values


@_jit
def queue_day(
    lam_s: FloatArray,
    mu_s: FloatArray,
    agents: npt.NDArray[np.int64],
    theta: float,
    delta: float,
    tau: float,
    K: int,
    start_at: int,
    start_waiting: int,
    start_in_service: int,
    glx: FloatArray,
    glw: FloatArray,
    rate_length: float,
    tail: float,
    lost_limit: float,
    cohort_floor: float,
) -> tuple[FloatArray, bool]:
    """The figures of one queue over the horizon on the chain truncated at K calls:
    rows of the result are answered within τ, answered, abandoned, waiting at the end,
    waits of the answered, busy time of the staffed agents, lost mass, and waiting and
    in service at each interval's end; False when an interval lost more than
    ``lost_limit`` (K must grow)."""
    T = lam_s.shape[0]
    S = K + 1
    horizon_end = T * delta
    fig = np.zeros((9, T))  # within, answered, abandoned, left, waits, busy, lost, w, b
    pi = np.zeros((1, S))
    pi[0, 0] = 1.0
    origins = np.zeros(0, dtype=np.int64)
    C = np.zeros((0, 1, S))
    A = np.zeros((0, 1, S))
    for t in range(T):
        n = agents[t]
        lam = lam_s[t]
        mu = mu_s[t]
        if t == start_at:
            k0 = start_waiting + start_in_service
            if k0 > K:
                return fig, False
            for i in range(origins.shape[0]):  # handed over into the given state
                fig[3, origins[i]] += C[i].sum()
            excess = max(start_in_service - n, 0)  # they finish, nobody else starts
            pi = np.zeros((excess + 1, S))
            pi[excess, k0] = 1.0
            origins = np.zeros(0, dtype=np.int64)
            C = np.zeros((0, excess + 1, S))
            A = np.zeros((0, excess + 1, S))
        elif t > 0:
            n_old = agents[t - 1]
            pi = map_system(pi, n_old, n)
            C, A, gone, waits = map_cohorts(C, A, n_old, n, pi.shape[0])
            for i in range(origins.shape[0]):
                fig[1, origins[i]] += gone[i]
                fig[4, origins[i]] += waits[i]
        E1 = max(pi.shape[0], C.shape[1])
        pi = _pad2(pi, E1)
        R = origins.shape[0] + 1
        nc = np.zeros((R, E1, S))
        na = np.zeros((R, E1, S))
        nc[: R - 1, : C.shape[1], :] = C
        na[: R - 1, : A.shape[1], :] = A
        C, A = nc, na
        new_origins = np.empty(R, dtype=np.int64)
        new_origins[: R - 1] = origins
        new_origins[R - 1] = t
        origins = new_origins
        cur = R - 1
        interior = max(delta - tau, 0.0)
        for phase in range(2):
            length = interior if phase == 0 else delta - interior
            if length <= 0.0:
                continue
            nodes = np.zeros(0)
            node_w = np.zeros(0)
            if phase == 1 and lam > 0.0:
                reach = min(T, t + 1 + math.ceil(tau / delta)) if tau > 0 else t + 1
                kinks = np.empty(max(reach - t - 1, 0))
                for k in range(2, reach - t + 1):
                    kinks[k - 2] = k * delta - tau - interior
                nodes, node_w = _panels(
                    lam_s,
                    agents,
                    mu_s,
                    t,
                    reach,
                    theta,
                    E1,
                    0.0,
                    length,
                    kinks,
                    glx,
                    glw,
                    rate_length,
                )
            pi, C, A, int_pi, head, gone, waits, node_pi = _sweep(
                pi, C, A, cur, lam, n, mu, theta, length, nodes, tail
            )
            immediate = 0.0
            for k in range(min(n, S)):
                immediate += int_pi[0, k]
            immediate *= lam
            fig[1, t] += immediate
            for i in range(R):
                fig[1, origins[i]] += head[i]
                fig[2, origins[i]] += gone[i]
                fig[4, origins[i]] += waits[i]
            busy = 0.0
            for k in range(S):
                busy += min(k, n) * int_pi[0, k]
            for e in range(1, int_pi.shape[0]):
                for k in range(S):
                    busy += n * int_pi[e, k]
            fig[5, t] += busy
            lost = 0.0
            for e in range(int_pi.shape[0]):
                lost += int_pi[e, K]
            fig[6, t] += lam * lost
            if lam <= 0.0:
                continue
            if phase == 0:
                # windows inside the interval: one V, over the positions arrivals take
                held = 0
                for e in range(int_pi.shape[0]):
                    for k in range(S):
                        if int_pi[e, k] > NEGLIGIBLE and k > held:
                            held = k
                width = min(max(held - n + 2, 1), S)
                inside = backward(np.zeros((1, E1, width)), np.array([tau]), n, mu, theta, tail)[0]
                fig[0, t] += lam * arrival_value(int_pi, inside, n)
            else:
                fig[0, t] += immediate
                held = 0
                for q in range(node_pi.shape[0]):
                    for e in range(E1):
                        for k in range(S):
                            if node_pi[q, e, k] > NEGLIGIBLE and k > held:
                                held = k
                width = min(max(held - n + 2, 1), S)
                start_s = t * delta + interior
                values = _window_values(
                    agents,
                    mu_s,
                    theta,
                    t,
                    start_s + nodes,
                    start_s + nodes + tau,
                    horizon_end,
                    E1,
                    width,
                    delta,
                    tail,
                )
                for q in range(nodes.shape[0]):
                    now = 0.0
                    for k in range(min(n, S)):
                        now += node_pi[q, 0, k]
                    waiting = arrival_value(node_pi[q], values[q], n) - now
                    fig[0, t] += lam * node_w[q] * waiting
        if fig[6, t] > lost_limit:
            return fig, False
        in_service = 0.0
        total = 0.0
        for e in range(pi.shape[0]):
            for k in range(S):
                total += k * pi[e, k]
                in_service += (min(k, n) if e == 0 else n + e) * pi[e, k]
        fig[8, t] = in_service
        fig[7, t] = total - in_service
        # drop the cohorts of earlier intervals that have (all but) left
        keep = np.zeros(R, dtype=np.bool_)
        for i in range(R):
            mass = C[i].sum()
            keep[i] = origins[i] == t or mass > cohort_floor
            if not keep[i]:
                fig[3, origins[i]] += mass  # (below cohort_floor)
        idx = np.nonzero(keep)[0]
        origins = origins[idx]
        C = C[idx]
        A = A[idx]
    for i in range(origins.shape[0]):
        fig[3, origins[i]] += C[i].sum()
    return fig, True
