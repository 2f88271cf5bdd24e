"""Regenerate the side files of ``contact-center.yaml`` (deterministic, no randomness).

    python scenarios/make_contact_center.py

writes ``contact-center-forecast.csv`` (56 quarter-hours 07:00-21:00, one column of
calls per queue plus ``platinum_support_aht_s``) and ``contact-center-roster.csv``
(120 agents). The forecast is a double-peaked day (mid-morning and early
afternoon). Volumes are scaled so that at the busiest interval the agents on duty
cover about 95 % of the agents Erlang C says the minimum service levels need: a
center a little short at its peaks. ``tests/test_scenarios_examples.py`` checks
that the committed files equal this script's output.
"""

from __future__ import annotations

import math
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATE = "2026-11-23"
START_MINUTE = 7 * 60
INTERVAL = 15
INTERVALS = 56
COVERAGE_AT_PEAK = 0.93

# queue: (share of calls, AHT s, answer within s, SL target for sizing,
#         morning peak weight, afternoon peak weight)
QUEUES: dict[str, tuple[float, float, float, float, float, float]] = {
    "platinum_sales": (0.12, 420, 20, 0.8, 1.2, 0.8),
    "platinum_support": (0.14, 480, 20, 0.8, 1.0, 1.0),
    "gold_sales": (0.16, 360, 30, 0.7, 1.1, 0.9),
    "gold_support": (0.20, 480, 30, 0.7, 0.9, 1.1),
    "standard_billing": (0.18, 300, 60, 0.6, 1.0, 1.0),
    "standard_general": (0.20, 240, 60, 0.6, 0.8, 1.2),
}

# skill profiles of the 120 agents: single-skill first, then multi-skilled (30 %)
PROFILES: list[tuple[tuple[str, ...], int]] = [
    (("platinum_sales",), 12),
    (("platinum_support",), 14),
    (("gold_sales",), 14),
    (("gold_support",), 19),
    (("standard_billing",), 12),
    (("standard_general",), 13),
    (("platinum_sales", "gold_sales"), 8),
    (("platinum_support", "gold_support"), 8),
    (("gold_support", "standard_billing"), 6),
    (("gold_sales", "standard_general"), 5),
    (("platinum_support", "gold_support", "standard_billing"), 5),
    (("platinum_sales", "platinum_support"), 4),
]

# shift starts (minutes after midnight) cycled over agents; 8 h or 8.5 h shifts
STARTS = [7 * 60 + 30 * k for k in range(12)]  # 07:00 .. 12:30
START_WEIGHTS = [8, 10, 14, 14, 12, 8, 6, 6, 8, 10, 12, 12]  # agents per start slot


def clock(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


def shape(hour: float, morning: float, afternoon: float) -> float:
    """Relative call volume at ``hour``: a ramp-up from 07:00, a mid-morning and a larger,
    broader early-afternoon peak, and a quiet evening."""
    ramp = min(1.0, 0.3 + 0.35 * (hour - 7.0))
    evening = 1.0 - 0.5 * max(0.0, hour - 17.0) / 4.0
    return (
        ramp
        * evening
        * (
            0.3
            + morning * math.exp(-(((hour - 10.5) / 1.2) ** 2))
            + afternoon * 1.9 * math.exp(-(((hour - 14.25) / 1.5) ** 2))
        )
    )


def erlang_c_agents(calls: float, aht_s: float, within_s: float, target: float) -> int:
    """Smallest n with Erlang C SL(n) >= target (sizing only; the model uses Erlang A too)."""
    load = calls * aht_s / (INTERVAL * 60)
    if load <= 0:
        return 0
    n = max(1, math.floor(load) + 1)
    while True:
        b = 1.0
        for k in range(1, n + 1):
            b = load * b / (k + load * b)
        c = n * b / (n - load * (1 - b))
        sl = 1 - c * math.exp(-(n - load) * within_s / aht_s)
        if sl >= target:
            return n
        n += 1


def roster() -> list[dict[str, str]]:
    slots = [s for s, w in zip(STARTS, START_WEIGHTS, strict=True) for _ in range(w)]
    profiles = [p for p, count in PROFILES for _ in range(count)]
    assert len(slots) == len(profiles) == 120
    rows = []
    for i, skills in enumerate(profiles):
        # spread each profile over the day: step through the start slots with a stride
        start = slots[(i * 37) % len(slots)]
        length = 8 * 60 + (30 if i % 3 == 0 or start >= 12 * 60 else 0)
        brk = start + 210 + 15 * (i % 5)
        rows.append(
            {
                "id": f"a{i + 1:03d}",
                "skills": ";".join(skills),
                "shift": f"{clock(start)}-{clock(start + length)}",
                "breaks": f"{clock(brk)}-{clock(brk + 30)}",
            }
        )
    return rows


def on_duty(rows: list[dict[str, str]]) -> list[int]:
    """Agents available per interval (inside the shift, not on break)."""
    counts = [0] * INTERVALS
    for row in rows:
        s0, s1 = (int(x[:2]) * 60 + int(x[3:]) for x in row["shift"].split("-"))
        b0, b1 = (int(x[:2]) * 60 + int(x[3:]) for x in row["breaks"].split("-"))
        for t in range(INTERVALS):
            lo = START_MINUTE + t * INTERVAL
            if s0 <= lo and lo + INTERVAL <= s1 and not (b0 < lo + INTERVAL and b1 > lo):
                counts[t] += 1
    return counts


def forecast(scale: float) -> dict[str, list[float]]:
    out = {}
    for q, (share, _aht, _within, _target, morning, afternoon) in QUEUES.items():
        out[q] = [
            round(scale * share * shape(7 + (t + 0.5) * INTERVAL / 60, morning, afternoon), 1)
            for t in range(INTERVALS)
        ]
    return out


def support_aht(t: int) -> float:
    """platinum_support AHT: longer calls in the morning, shorter late in the day."""
    hour = 7 + t * INTERVAL / 60
    return round(480 + 60 * math.cos((hour - 9) / 12 * math.pi), 0)


def required(scale: float) -> list[int]:
    calls = forecast(scale)
    total = [0] * INTERVALS
    for q, (_share, aht, within, target, _m, _a) in QUEUES.items():
        for t in range(INTERVALS):
            h = support_aht(t) if q == "platinum_support" else aht
            total[t] += erlang_c_agents(calls[q][t], h, within, target)
    return total


def main(out: Path = HERE) -> None:
    """Write both side files into ``out``."""
    rows = roster()
    duty = on_duty(rows)
    # the largest volume scale at which the agents on duty cover COVERAGE_AT_PEAK of
    # the Erlang C requirement in the busy intervals (requirement >= 70 % of its peak)
    lo, hi = 10.0, 5000.0
    for _ in range(40):
        mid = (lo + hi) / 2
        need = required(mid)
        busy = [(d, n) for d, n in zip(duty, need, strict=True) if n >= 0.7 * max(need)]
        ratio = min(d / n for d, n in busy)
        lo, hi = (mid, hi) if ratio >= COVERAGE_AT_PEAK else (lo, mid)
    scale = round(lo)
    calls = forecast(scale)
    lines = ["interval_start," + ",".join(QUEUES) + ",platinum_support_aht_s"]
    for t in range(INTERVALS):
        minute = START_MINUTE + t * INTERVAL
        cells = [f"{calls[q][t]:g}" for q in QUEUES] + [f"{support_aht(t):g}"]
        lines.append(f"{DATE} {clock(minute)}," + ",".join(cells))
    (out / "contact-center-forecast.csv").write_text("\n".join(lines) + "\n")
    roster_lines = ["id,skills,shift,breaks"]
    roster_lines += [f"{r['id']},{r['skills']},{r['shift']},{r['breaks']}" for r in rows]
    (out / "contact-center-roster.csv").write_text("\n".join(roster_lines) + "\n")


if __name__ == "__main__":
    main()
