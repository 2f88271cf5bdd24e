"""The scalar fast paths of ``performance`` and ``required_agents`` (one Erlang C case
in plain floats) agree with the vectorised path on the same inputs, edge cases
included, and bad input still raises the general path's error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optistaff import queueing
from optistaff.queueing import performance, required_agents

FIELDS = ("service_level", "abandon_rate", "asa_s", "occupancy")


def _cases(seed: int, count: int) -> list[tuple[float, float, float, float, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        c = float(rng.choice([0.0, rng.uniform(0.01, 5), rng.uniform(1, 5000)]))
        h = float(rng.uniform(1, 900))
        d = float(rng.choice([300.0, 900.0, 1800.0, 3600.0]))
        t = float(rng.choice([0.0, rng.uniform(0, 120)]))
        a = c * h / d
        n = float(max(0, int(a + rng.normal(0, 3 * math.sqrt(a + 1)))))
        out.append((c, h, d, t, n))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_scalar_performance_equals_the_vectorised_path(seed: int) -> None:
    for c, h, d, t, n in _cases(seed, 3000):
        one = performance(c, h, d, t, n)
        vec = performance(np.array([c]), h, d, t, n)  # (an array: the general path)
        for field in FIELDS:
            x, y = float(getattr(one, field)), float(getattr(vec, field)[0])
            assert math.isnan(x) == math.isnan(y), (field, c, h, d, t, n)
            if not math.isnan(y):
                assert x == pytest.approx(y, rel=1e-12, abs=1e-15), (field, c, h, d, t, n)


def test_the_scalar_path_is_taken_and_can_be_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    # (a test that cannot fail is a defect: break the scalar formula, and the comparison
    # above must see it)
    monkeypatch.setattr(queueing, "_logaddexp", lambda x, y: max(x, y))
    one = performance(300.0, 240.0, 1800.0, 20.0, 45)
    vec = performance(np.array([300.0]), 240.0, 1800.0, 20.0, 45)
    assert float(one.service_level) != pytest.approx(float(vec.service_level[0]), rel=1e-12)


@pytest.mark.parametrize("seed", range(2))
def test_scalar_required_agents_equals_the_vectorised_path(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    for _ in range(1500):
        c = float(
            rng.choice([0.0, rng.uniform(0.01, 5), rng.uniform(1, 3000), rng.uniform(1e3, 1e5)])
        )
        h = float(rng.uniform(30, 900))
        d = float(rng.choice([900.0, 1800.0, 3600.0]))
        t = float(rng.uniform(0, 60))
        s = None if rng.random() < 0.2 else float(rng.uniform(0, 0.999))
        o = None if rng.random() < 0.5 else float(rng.uniform(0.5, 1.0))
        one = required_agents(c, h, d, t, service_level=s, max_occupancy=o)
        vec = required_agents([c], [h], [d], [t], service_level=s, max_occupancy=o)
        assert one.shape == () and int(one) == int(vec[0]), (c, h, d, t, s, o)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: performance(float("nan"), 240.0, 1800.0, 20.0, 5), "calls must be"),
        (lambda: performance(10.0, 240.0, 1800.0, 20.0, 2.5), "agents must be whole"),
        (lambda: required_agents(10.0, 240.0, 1800.0, 20.0, service_level=1.0), "service_level"),
        (lambda: required_agents(10.0, -1.0, 1800.0, 20.0, service_level=0.8), "aht_s must be"),
    ],
)
def test_bad_scalars_raise_the_general_message(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
