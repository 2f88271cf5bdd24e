"""Compiled inner loops of the time-varying queue model (:mod:`optistaff.time_varying`).

Each is one uniformization sweep: repeated products with the step matrix of a
birth–death chain (and of the positions of waiting calls), summed with Poisson
weights. numba compiles them on first use and caches the machine code next to this
file; the arithmetic is the plain loop below, so a run without numba (``OPTISTAFF_NO_JIT``
set) gives the same numbers, only slower. Measured on contact-center (6 queues, 56
quarter-hours, 2 cores): see ``tests/benchmarks/bench_time_varying.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
F = TypeVar("F", bound=Callable[..., Any])


def _jit(func: F) -> F:
    if os.environ.get("OPTISTAFF_NO_JIT"):
        return func
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency
        return func
    return cast(F, numba.njit(cache=True, nogil=True)(func))


#: Entries below this (probabilities, expected calls) are taken as zero when the sweep
#: decides how far up the states it must compute (the error is below 1e-40 per step).
NEGLIGIBLE = 1e-40


@_jit
def sweep(
    pi: FloatArray,
    cohorts: FloatArray,
    ages: FloatArray,
    cur: int,
    birth: float,
    death: FloatArray,
    stay_pi: FloatArray,
    down: FloatArray,
    stay_c: FloatArray,
    inv_rate: float,
    n: int,
    w: FloatArray,
    tw: FloatArray,
    wmat: FloatArray,
) -> tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray
]:
    """One sweep of the chain π, the cohorts' positions and their age sums (rows of
    ``cohorts`` / ``ages``; arrivals join row ``cur``), with end weights ``w``,
    integral weights ``tw`` and node weights ``wmat`` (one row per node). Returns the
    end values, ∫π, ∫head and ∫mass of each cohort, ∫ head of each age row, π at the
    nodes. Only the states up to the highest one holding more than ``NEGLIGIBLE`` are
    computed (one more per step, as arrivals climb)."""
    size = pi.shape[0]
    rows, width = cohorts.shape
    nodes = wmat.shape[0]
    steps = w.shape[0]
    x = pi.copy()
    c = cohorts.copy()
    a = ages.copy()
    nx = np.zeros_like(x)
    nc = np.zeros_like(c)
    na = np.zeros_like(a)
    hi = 0  # highest state of π above NEGLIGIBLE
    for k in range(size):
        if x[k] > NEGLIGIBLE:
            hi = k
    top = 0  # highest position of a cohort above NEGLIGIBLE
    for i in range(rows):
        for j in range(width):
            if (c[i, j] > NEGLIGIBLE or a[i, j] > NEGLIGIBLE) and j > top:
                top = j
    end_pi = w[0] * x
    end_c = w[0] * c
    end_a = w[0] * a
    int_pi = tw[0] * x
    int_head = np.zeros(rows)
    int_mass = np.zeros(rows)
    int_a0 = np.zeros(rows)
    for i in range(rows):
        int_head[i] = tw[0] * c[i, 0]
        int_a0[i] = tw[0] * a[i, 0]
        s = 0.0
        for j in range(width):
            s += c[i, j]
        int_mass[i] = tw[0] * s
    node_pi = np.zeros((nodes, size))
    for q in range(nodes):
        for k in range(size):
            node_pi[q, k] = wmat[q, 0] * x[k]
    for m in range(1, steps):
        span = min(hi + 2, size)
        for k in range(span):
            v = stay_pi[k] * x[k]
            if k > 0:
                v += birth * x[k - 1]
            if k + 1 < size:
                v += death[k + 1] * x[k + 1]
            nx[k] = v
        reach = span - n  # positions arrivals can reach: k = n .. span − 1
        if reach > 0 and reach - 1 > top:
            top = min(reach - 1, width - 1)
        cols = min(top + 1, width)
        for i in range(rows):
            for j in range(cols):
                v = stay_c[j] * c[i, j]
                u = stay_c[j] * a[i, j] + c[i, j] * inv_rate
                if j + 1 < width:
                    v += down[j + 1] * c[i, j + 1]
                    u += down[j + 1] * a[i, j + 1]
                nc[i, j] = v
                na[i, j] = u
        for j in range(max(reach, 0)):
            nc[cur, j] += birth * x[n + j]
        x, nx = nx, x
        c, nc = nc, c
        a, na = na, a
        if span > hi + 1 and x[span - 1] > NEGLIGIBLE:
            hi = span - 1
        wm = w[m]
        tm = tw[m]
        for k in range(span):
            end_pi[k] += wm * x[k]
            int_pi[k] += tm * x[k]
        for i in range(rows):
            s = 0.0
            for j in range(cols):
                end_c[i, j] += wm * c[i, j]
                end_a[i, j] += wm * a[i, j]
                s += c[i, j]
            int_head[i] += tm * c[i, 0]
            int_a0[i] += tm * a[i, 0]
            int_mass[i] += tm * s
        for q in range(nodes):
            wq = wmat[q, m]
            if wq != 0.0:
                for k in range(span):
                    node_pi[q, k] += wq * x[k]
    return end_pi, end_c, end_a, int_pi, int_head, int_mass, int_a0, node_pi


@_jit
def backward(start: FloatArray, stay: FloatArray, down: FloatArray, wmat: FloatArray) -> FloatArray:
    """Rows of terminal values on the positions (answered = 1, abandoned = 0) propagated
    backward: row i gets Σ_m wmat[i, m] P^m start[i] (P the position chain's step)."""
    rows, width = start.shape
    steps = wmat.shape[1]
    v = start.copy()
    nv = np.empty_like(v)
    acc = np.zeros_like(v)
    for i in range(rows):
        for j in range(width):
            acc[i, j] = wmat[i, 0] * v[i, j]
    for m in range(1, steps):
        for i in range(rows):
            for j in range(width):
                u = stay[j] * v[i, j]
                if j > 0:
                    u += down[j] * v[i, j - 1]
                else:
                    u += down[0]
                nv[i, j] = u
        v, nv = nv, v
        for i in range(rows):
            wi = wmat[i, m]
            if wi != 0.0:
                for j in range(width):
                    acc[i, j] += wi * v[i, j]
    return acc
