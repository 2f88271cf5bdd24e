"""optistaff.queueing against an independent 40-digit mpmath reference (1e-9 relative).

The reference (tests/test_queueing_reference.py) sums the birth–death chain term by term and
gets the answered calls' mean wait from a first-step analysis over the queue position, so it
shares no numerical method with optistaff.queueing (log-space Erlang B odds, quadrature of
the offered-wait density).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_queueing_reference import Ref, reference

from optistaff.queueing import performance

RTOL = 1e-9
FIELDS = ("service_level", "abandon_rate", "asa_s", "occupancy")


def _check(calls: float, aht: float, interval: float, within: float, n: int, p: float | None):
    ref: Ref = reference(calls, aht, interval, within, n, p)
    with np.errstate(all="raise"):
        got = performance(calls, aht, interval, within, n, patience_s=p)
    for field in FIELDS:
        r, g = getattr(ref, field), float(getattr(got, field))
        if math.isnan(r):
            assert math.isnan(g), f"{field}: expected null, got {g}"
        else:
            # relative, down to the smallest normal numbers (no absolute floor above 1e-300)
            assert g == pytest.approx(r, rel=RTOL, abs=1e-300), f"{field}: {g} vs {r}"


FIXED = [
    # (calls, aht_s, interval_s, answer_within_s, agents, patience_s)
    (100, 180, 1800, 20, 13, None),
    (100, 180, 1800, 20, 14, None),
    (100, 180, 1800, 20, 13, 300),
    (100, 60, 60, 20, 290, 300),  # R = 300, overloaded (field-notes §3.4)
    (100, 60, 60, 20, 303, 300),
    (27, 300, 1800, 20, 4, 180),
    (27, 300, 1800, 20, 7, 180),
    (1, 600, 1800, 0, 1, None),
    (1, 600, 1800, 20, 1, 30),
    (0.001, 3600, 1800, 20, 1, 5),  # nearly no traffic
    (50, 1200, 1800, 60, 1, 20),  # n = 1, heavy overload, short patience
    (500, 600, 1800, 30, 100, 2e4),  # long patience, overloaded
    (500, 600, 1800, 30, 180, 2.0),  # patience << aht
    (150000, 60, 1800, 20, 5000, None),  # a = 5000
    (150000, 60, 1800, 20, 5001, None),
    (150000, 60, 1800, 20, 5100, None),
    (150000, 60, 1800, 20, 5000, 300),
    (150000, 60, 1800, 20, 4900, 300),
    (150000, 60, 1800, 20, 5050, 60),
    (149000, 60, 1800, 0, 5000, 3600),
]


@pytest.mark.parametrize("case", FIXED, ids=[str(c) for c in FIXED])
def test_against_mpmath_fixed(case: tuple[float, float, float, float, int, float | None]) -> None:
    _check(*case)


def _random_cases(
    count: int, seed: int
) -> list[tuple[float, float, float, float, int, float | None]]:
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        a = float(np.exp(rng.uniform(np.log(0.05), np.log(2000))))
        aht = float(np.exp(rng.uniform(np.log(20), np.log(1200))))
        calls = a * 1800 / aht
        within = float(rng.choice([0, 5, 20, 60, 300]))
        patience = (
            None if rng.random() < 0.3 else float(np.exp(rng.uniform(np.log(5), np.log(3600))))
        )
        n = int(max(1, round(a + rng.normal() * 3 * math.sqrt(a) + rng.normal() * 2)))
        cases.append((calls, aht, 1800.0, within, n, patience))
    return cases


@pytest.mark.parametrize("case", _random_cases(60, 2024))
def test_against_mpmath_random(case: tuple[float, float, float, float, int, float | None]) -> None:
    _check(*case)


def test_reference_can_disagree() -> None:
    """Guard against a vacuous comparison: a perturbed input must fail the tolerance."""
    ref = reference(100, 180, 1800, 20, 13, 300)
    got = performance(100 * (1 + 1e-7), 180, 1800, 20, 13, patience_s=300)
    assert float(got.service_level) != pytest.approx(ref.service_level, rel=RTOL)
