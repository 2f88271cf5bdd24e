"""The compiled day of one queue (:func:`queue_day`), built from the sweeps of
:mod:`optistaff._tv_kernels`: per interval the boundary map, the uniformization sweeps
of the chain and the cohorts, and the backward values of the τ windows that cross a
boundary (``models/12-time-varying.md``). One call per queue keeps the Python driver out
of the loop (it cost about 1 ms an interval, more than the kernels on small queues).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from optistaff._tv_kernels import (
    NEGLIGIBLE,
    _jit,
    _sweep,
    arrival_value,
    backward,
    map_cohorts,
    map_system,
    tagged_before,
)

FloatArray = npt.NDArray[np.float64]


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
