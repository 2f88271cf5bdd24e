"""Synthetic contact centers of any size, seeded: try optistaff at your own scale.

:func:`generate_center` builds a realistic center from a :class:`CenterSpec` and
returns the three files of a scenario (``scenario.yaml``, a roster CSV and a forecast
CSV); :func:`write_center` writes them. The same spec (seed included) gives
byte-identical files.

What a generated center looks like:

* **Queues** in four customer tiers (platinum, gold, silver, standard: values 10, 6, 4,
  2; answer within 20/30/45/60 s; minimum service levels 0.8/0.75/0.7/0.6) over
  topics (sales, support, billing, ...). About 60 % are Erlang A (a patience), some
  with an abandonment cap; a quarter have an occupancy cap; every fourth has an
  intraday handle-time curve (a ``<queue>_aht_s`` column of the forecast file).
* **Forecast**: a double-peaked day per queue (mid-morning and a larger early
  afternoon, each queue with its own peak heights and times), quiet nights, 8 %
  seeded noise, calls rounded to 0.1.
* **Skill profiles**: ``profiles`` distinct skill sets covering every queue, most
  with one or two skills, multi-skilled agents mostly within a topic or a tier;
  headcount per profile fitted to each queue's share of the day's requirement.
* **Shifts** of 8, 8.5, 6 and 4 hours starting on the half hour (on the hour for
  20- and 60-minute intervals), placed one agent at a time where the agent's skills
  are most needed, so that the agents on duty follow the requirement through the day;
  breaks (15 and 30 minutes) staggered within a window of each shift.
* **Tightness**: call volumes are scaled so that at the peak (the interval of the
  largest total requirement) the agents on duty (optional agents excluded) are
  ``tightness`` × the agents the queues' minimum standards need there (per-queue
  Erlang C/A, :func:`optistaff.queueing.required_agents`): 0.85 is a center short
  at its peak, 1.10 one with a surplus. The ratio is met from above to within one
  agent of the requirement (an integer).
* **Coupling** (optional): daily service-level minimums on every fifth queue, a
  switch penalty of 0.5 value units, and about 2 % of the agents as optional
  overtime (4-hour shifts around the peaks, paid per available interval).

``agents`` counts everyone in the roster, optional agents included. Horizons are at
most 24 hours: up to 17 hours they start at 07:00, longer ones at 00:00, so every
shift lies within the horizon's calendar day.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from optistaff import queueing
from optistaff.scenario import ALLOWED_INTERVAL_MINUTES, Scenario

__all__ = [
    "CenterSpec",
    "GeneratedCenter",
    "PeakRatio",
    "generate_center",
    "peak_ratio",
    "write_center",
]

FloatArray = npt.NDArray[np.float64]

DATE = "2026-11-23"
TIERS = ("platinum", "gold", "silver", "standard")
TIER_VALUE = (10.0, 6.0, 4.0, 2.0)
TIER_WITHIN_S = (20.0, 30.0, 45.0, 60.0)
TIER_MIN_SL = (0.8, 0.75, 0.7, 0.6)
TIER_PATIENCE_S = (180.0, 240.0, 300.0, 420.0)
TIER_VOLUME = (0.6, 0.9, 1.1, 1.4)
TOPICS = ("sales", "support", "billing", "technical", "retention", "general", "claims", "orders")
TOPIC_AHT_S = (420.0, 480.0, 300.0, 600.0, 540.0, 240.0, 450.0, 360.0)
# shift length (minutes) and its share of the agents
SHIFT_LENGTHS = ((480, 0.55), (510, 0.15), (360, 0.15), (240, 0.15))
SWITCH_PENALTY = 0.5
OPTIONAL_SHARE = 0.02
OVERTIME_MINUTES = 240
MAX_HORIZON_MINUTES = 24 * 60


@dataclass(frozen=True)
class CenterSpec:
    """What to generate. ``profiles`` None: min(40, queues + queues // 2) (at most the
    number of distinct skill sets). ``tightness``: agents on duty / requirement at the
    peak, > 0."""

    agents: int
    queues: int
    intervals: int
    interval_minutes: int = 15
    profiles: int | None = None
    tightness: float = 0.95
    seed: int = 0
    coupling: bool = False
    name: str | None = None

    def problems(self) -> list[str]:
        """Every reason this spec cannot be generated (empty when it can)."""
        out = []
        if self.queues < 1:
            out.append(f"queues: must be >= 1, got {self.queues}")
        if self.intervals < 1:
            out.append(f"intervals: must be >= 1, got {self.intervals}")
        if self.interval_minutes not in ALLOWED_INTERVAL_MINUTES:
            allowed = ", ".join(map(str, ALLOWED_INTERVAL_MINUTES))
            out.append(f"interval_minutes: must be one of {allowed}, got {self.interval_minutes}")
        elif self.intervals * self.interval_minutes > MAX_HORIZON_MINUTES:
            out.append(
                f"intervals × interval_minutes: at most 24 hours, got "
                f"{self.intervals} × {self.interval_minutes} min"
            )
        minimum = 2 if self.coupling else 1
        if self.agents < minimum:
            out.append(f"agents: must be >= {minimum}, got {self.agents}")
        if self.profiles is not None:
            most = _max_profiles(self.queues)
            if not 1 <= self.profiles <= most:
                out.append(
                    f"profiles: must be between 1 and {most} for {self.queues} queues, "
                    f"got {self.profiles}"
                )
        if not (math.isfinite(self.tightness) and self.tightness > 0):
            out.append(f"tightness: must be > 0, got {self.tightness}")
        if self.seed < 0:
            out.append(f"seed: must be >= 0, got {self.seed}")
        return out

    @property
    def n_profiles(self) -> int:
        if self.profiles is not None:
            return self.profiles
        return min(40, self.queues + self.queues // 2, _max_profiles(self.queues))


@dataclass(frozen=True)
class PeakRatio:
    """Agents on duty / agents required by the minimum standards, at the peak (the
    earliest interval of the largest total requirement)."""

    ratio: float
    interval: int
    on_duty: int
    required: int


@dataclass(frozen=True)
class GeneratedCenter:
    """The three files of a generated scenario (text) and its peak ratio."""

    spec: CenterSpec
    scenario_yaml: str
    roster_csv: str
    forecast_csv: str
    roster_file: str
    forecast_file: str
    peak: PeakRatio


def _max_profiles(queues: int) -> int:
    return 2**queues - 1 if queues < 20 else 10**6


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------


def generate_center(
    spec: CenterSpec,
    *,
    roster_file: str = "roster.csv",
    forecast_file: str = "forecast.csv",
) -> GeneratedCenter:
    """Generate the center described by ``spec`` (deterministic for ``spec.seed``).

    Raises ValueError listing every problem of the spec."""
    problems = spec.problems()
    if problems:
        raise ValueError("; ".join(problems))
    rng = np.random.default_rng(spec.seed)
    layout = _Layout.of(spec)
    queues = _make_queues(spec, rng)
    base, aht = _make_forecast_shape(spec, layout, queues, rng)
    n_optional = max(1, round(OPTIONAL_SHARE * spec.agents)) if spec.coupling else 0
    n_regular = spec.agents - n_optional

    # the requirement's shape at a nominal volume sizes the skill mix and the shifts
    nominal = _volume_for_load(base, aht, layout, 0.5 * n_regular * spec.tightness)
    need0 = _requirement(queues, nominal * base, aht, layout)
    profiles = _make_profiles(spec, queues, rng)
    heads = _headcount(profiles, need0.sum(axis=1), n_regular, len(queues), rng)
    agent_profiles = rng.permutation(np.repeat(np.arange(len(profiles)), heads))
    agents = _make_shifts(agent_profiles, profiles, need0, layout, rng)
    on_duty = np.zeros(layout.intervals, dtype=np.int64)
    for agent in agents:
        on_duty += agent.available

    scale, peak = _fit_volume(queues, base, aht, layout, on_duty, need0, spec.tightness)
    calls = np.round(scale * base, 1)
    if n_optional:
        agents += _make_overtime(n_optional, profiles, heads, need0, layout, queues, rng)
    names = [f"a{i + 1:0{max(5, len(str(len(agents))))}d}" for i in range(len(agents))]
    roster = _roster_csv(names, agents, profiles, queues)
    forecast = _forecast_csv(layout, queues, calls, aht)
    text = _scenario_yaml(spec, layout, queues, peak, roster_file, forecast_file, n_optional)
    return GeneratedCenter(spec, text, roster, forecast, roster_file, forecast_file, peak)


def write_center(spec: CenterSpec, out: str | Path, *, overwrite: bool = False) -> Path:
    """Generate and write a center; returns the scenario file's path.

    ``out`` is a directory (created if needed; files ``scenario.yaml``, ``roster.csv``,
    ``forecast.csv``) or a ``.yaml``/``.yml`` file (side files ``<stem>-roster.csv`` and
    ``<stem>-forecast.csv`` next to it). Existing files are kept (FileExistsError, nothing
    written) unless ``overwrite``."""
    out = Path(out)
    if out.suffix in (".yaml", ".yml"):
        directory, scenario_name = out.parent, out.name
        roster_file, forecast_file = f"{out.stem}-roster.csv", f"{out.stem}-forecast.csv"
    else:
        directory, scenario_name = out, "scenario.yaml"
        roster_file, forecast_file = "roster.csv", "forecast.csv"
    targets = [directory / name for name in (scenario_name, roster_file, forecast_file)]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"would overwrite {', '.join(existing)} (use overwrite)")
    center = generate_center(spec, roster_file=roster_file, forecast_file=forecast_file)
    directory.mkdir(parents=True, exist_ok=True)
    for path, text in zip(
        targets, (center.scenario_yaml, center.roster_csv, center.forecast_csv), strict=True
    ):
        path.write_text(text, encoding="utf-8", newline="\n")
    return targets[0]


def peak_ratio(scenario: Scenario) -> PeakRatio:
    """Agents on duty (not optional) / agents the per-interval minimum standards need, at
    the interval of the largest total requirement (per queue: smallest n meeting its
    ``min_service_level``, ``max_abandon_rate`` and ``max_occupancy``; Erlang C: n > a)."""
    from optistaff.evaluate import required_agents  # (pandas: only when asked)

    h = scenario.horizon
    required = np.zeros(h.intervals, dtype=np.int64)
    for q in scenario.queues:
        required += required_agents(q, h.interval_s)
    on_duty = np.zeros(h.intervals, dtype=np.int64)
    for a in scenario.agents:
        if not a.optional:
            on_duty += np.array(a.available, dtype=np.int64)
    t = int(np.argmax(required))
    need = int(required[t])
    return PeakRatio(int(on_duty[t]) / need if need else math.inf, t, int(on_duty[t]), need)


# --------------------------------------------------------------------------------------
# the pieces
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """The horizon in minutes after midnight of its start date."""

    start_minute: int
    interval_minutes: int
    intervals: int
    start_grid: int  # shift starts: multiples of this many minutes

    @classmethod
    def of(cls, spec: CenterSpec) -> _Layout:
        length = spec.intervals * spec.interval_minutes
        start = 7 * 60 if length <= 17 * 60 else 0
        grid = math.lcm(spec.interval_minutes, 30)
        return cls(start, spec.interval_minutes, spec.intervals, grid)

    @property
    def end_minute(self) -> int:
        return self.start_minute + self.intervals * self.interval_minutes

    def hours(self) -> FloatArray:
        """Clock hour at the middle of every interval."""
        mid = self.start_minute + (np.arange(self.intervals) + 0.5) * self.interval_minutes
        return np.asarray(mid / 60.0, dtype=np.float64)

    def availability(self, shift: tuple[int, int], breaks: list[tuple[int, int]]) -> np.ndarray:
        """models/00-contract.md: interval wholly inside the shift and overlapping no break."""
        lo = self.start_minute + np.arange(self.intervals) * self.interval_minutes
        hi = lo + self.interval_minutes
        ok = (lo >= shift[0]) & (hi <= shift[1])
        for b0, b1 in breaks:
            ok &= ~((lo < b1) & (hi > b0))
        return ok.astype(np.int64)


@dataclass(frozen=True)
class _QueueDef:
    id: str
    tier: int
    topic: int
    share: float
    aht_s: float
    intraday_aht: bool
    patience_s: float | None
    max_abandon_rate: float | None
    max_occupancy: float | None
    daily_service_level: float | None
    morning: float
    afternoon: float
    morning_hour: float
    afternoon_hour: float

    @property
    def min_service_level(self) -> float:
        return TIER_MIN_SL[self.tier]


@dataclass
class _AgentDef:
    profile: int
    shift: tuple[int, int]
    breaks: list[tuple[int, int]]
    available: np.ndarray
    optional: bool = False
    cost: float = 0.0


def _make_queues(spec: CenterSpec, rng: np.random.Generator) -> list[_QueueDef]:
    """Tiers in equal blocks (platinum first), topics cycled over all queues."""
    out: list[_QueueDef] = []
    seen: dict[str, int] = {}
    for i in range(spec.queues):
        tier = i * len(TIERS) // spec.queues
        topic = i % len(TOPICS)
        stem = f"{TIERS[tier]}_{TOPICS[topic]}"
        seen[stem] = seen.get(stem, 0) + 1
        qid = stem if seen[stem] == 1 else f"{stem}_{seen[stem]}"
        erlang_a = rng.random() < 0.6
        patience = round(TIER_PATIENCE_S[tier] * rng.uniform(0.8, 1.2), -1) if erlang_a else None
        abandon = (0.05 if tier == 0 else 0.08) if erlang_a and tier <= 1 else None
        occupancy = 0.9 if rng.random() < 0.25 else None
        daily = None
        if spec.coupling and i % 5 == 0:
            daily = round(TIER_MIN_SL[tier] + 0.05, 2)
        out.append(
            _QueueDef(
                id=qid,
                tier=tier,
                topic=topic,
                share=float(TIER_VOLUME[tier] * rng.lognormal(0.0, 0.5)),
                aht_s=float(round(TOPIC_AHT_S[topic] * rng.uniform(0.85, 1.15), -1)),
                intraday_aht=i % 4 == 3,
                patience_s=patience,
                max_abandon_rate=abandon,
                max_occupancy=occupancy,
                daily_service_level=daily,
                morning=float(rng.uniform(0.6, 1.4)),
                afternoon=float(rng.uniform(0.6, 1.4)),
                morning_hour=float(rng.uniform(10.0, 11.0)),
                afternoon_hour=float(rng.uniform(13.75, 14.75)),
            )
        )
    return out


def _day_shape(hours: FloatArray, q: _QueueDef) -> FloatArray:
    """Relative calls at clock hour: quiet night, ramp-up from 06:00, a mid-morning and a
    larger early-afternoon peak, a declining evening."""
    ramp = np.clip((hours - 6.0) / 2.5, 0.0, 1.0)
    evening = 1.0 - 0.75 * np.clip((hours - 17.0) / 5.0, 0.0, 1.0)
    peaks = (
        0.3
        + q.morning * np.exp(-(((hours - q.morning_hour) / 1.2) ** 2))
        + 1.9 * q.afternoon * np.exp(-(((hours - q.afternoon_hour) / 1.5) ** 2))
    )
    return np.asarray(0.03 + ramp * evening * peaks, dtype=np.float64)


def _make_forecast_shape(
    spec: CenterSpec, layout: _Layout, queues: list[_QueueDef], rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Calls at volume scale 1 and AHT (s), both (queues, intervals)."""
    hours = layout.hours()
    base = np.empty((len(queues), layout.intervals))
    aht = np.empty_like(base)
    for i, q in enumerate(queues):
        noise = rng.lognormal(0.0, 0.08, layout.intervals)
        base[i] = q.share * _day_shape(hours, q) * noise
        if q.intraday_aht:
            aht[i] = np.round(q.aht_s * (1.0 + 0.12 * np.cos((hours - 9.0) / 12.0 * np.pi)))
        else:
            aht[i] = q.aht_s
    return base, aht


def _volume_for_load(base: FloatArray, aht: FloatArray, layout: _Layout, erlangs: float) -> float:
    """The volume scale whose busiest interval offers ``erlangs`` in total."""
    load = (base * aht).sum(axis=0) / (60.0 * layout.interval_minutes)
    return float(erlangs / max(load.max(), 1e-12))


def _requirement(
    queues: list[_QueueDef], calls: FloatArray, aht: FloatArray, layout: _Layout
) -> np.ndarray:
    """Agents the per-interval minimum standards need, (queues, intervals)."""

    def column(values: list[float | None]) -> FloatArray:
        return np.array([[np.nan if v is None else v] for v in values], dtype=float)

    return queueing.required_agents(
        calls,
        aht,
        60.0 * layout.interval_minutes,
        column([TIER_WITHIN_S[q.tier] for q in queues]),
        service_level=column([q.min_service_level for q in queues]),
        patience_s=column([q.patience_s for q in queues]),
        max_abandon_rate=column([q.max_abandon_rate for q in queues]),
        max_occupancy=column([q.max_occupancy for q in queues]),
    )


def _make_profiles(
    spec: CenterSpec, queues: list[_QueueDef], rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """``spec.n_profiles`` distinct skill sets covering every queue: queue j is the
    primary skill of profile j mod P; extra skills (0-3, fewer more likely) come from the
    same topic in other tiers or the same tier, as in real centers."""
    n_q, n_p = len(queues), spec.n_profiles
    profiles: list[tuple[int, ...]] = []
    seen: set[tuple[int, ...]] = set()
    for p in range(n_p):
        primary = p % n_q
        skills = set(range(p, n_q, n_p)) | {primary}
        extra = int(rng.choice(4, p=(0.45, 0.33, 0.15, 0.07))) if p >= n_q else 0
        if p >= n_q and extra == 0:
            extra = 1  # the single-skill profiles already exist
        related = [
            j
            for j in range(n_q)
            if j not in skills
            and (queues[j].topic == queues[primary].topic or queues[j].tier == queues[primary].tier)
        ]
        others = [j for j in range(n_q) if j not in skills and j not in related]
        for _ in range(extra):
            pool = related if related and (rng.random() < 0.85 or not others) else others
            if not pool:
                break
            pick = int(pool[int(rng.integers(len(pool)))])
            skills.add(pick)
            for lst in (related, others):
                if pick in lst:
                    lst.remove(pick)
        key = tuple(sorted(skills))
        while key in seen:  # rare: add one more skill until the set is new
            free = [j for j in range(n_q) if j not in skills]
            if not free:  # tiny centers: the first unused skill set, smallest first
                key = next(k for k in _skill_sets(n_q) if k not in seen)
                break
            skills.add(int(free[int(rng.integers(len(free)))]))
            key = tuple(sorted(skills))
        seen.add(key)
        profiles.append(key)
    return profiles


def _skill_sets(n_queues: int) -> Iterator[tuple[int, ...]]:
    for size in range(1, n_queues + 1):
        yield from itertools.combinations(range(n_queues), size)


def _headcount(
    profiles: list[tuple[int, ...]],
    demand: np.ndarray,
    agents: int,
    n_queues: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Agents per profile: each queue's supply (Σ over its profiles of heads / skills)
    fitted to its share of the day's requirement (a few multiplicative sweeps), with 20 %
    seeded noise; rounded by largest remainder to ``agents`` in total."""
    target = demand / max(demand.sum(), 1e-12) + 1e-6
    weight = np.ones(len(profiles))
    member = np.zeros((len(profiles), n_queues))
    for p, skills in enumerate(profiles):
        member[p, list(skills)] = 1.0 / len(skills)
    for _ in range(30):
        supply = weight @ member
        supply = supply / supply.sum()
        factor = np.array([np.mean(target[list(s)] / supply[list(s)]) for s in profiles])
        weight *= factor
        weight /= weight.sum()
    weight *= rng.lognormal(0.0, 0.2, len(profiles))
    exact = agents * weight / weight.sum()
    heads = np.floor(exact).astype(np.int64)
    rest = agents - int(heads.sum())
    order = np.argsort(-(exact - heads), kind="stable")
    heads[order[:rest]] += 1
    return heads


def _draw_length(rng: np.random.Generator) -> int:
    lengths = [m for m, _ in SHIFT_LENGTHS]
    shares = [s for _, s in SHIFT_LENGTHS]
    return int(lengths[int(rng.choice(len(lengths), p=shares))])


def _candidate_starts(layout: _Layout, length: int) -> np.ndarray:
    """Shift starts on the grid, within the calendar day, overlapping the horizon by at
    least half the shift (or half the horizon, when that is shorter)."""
    span = layout.intervals * layout.interval_minutes
    need = min(length, span) / 2.0
    starts = np.arange(0, 24 * 60 - length + 1, layout.start_grid)
    overlap = np.minimum(starts + length, layout.end_minute) - np.maximum(
        starts, layout.start_minute
    )
    picked = starts[overlap >= need]
    if picked.size == 0:  # only when the horizon is shorter than the grid
        picked = starts[overlap > 0][:1]
    return picked


def _break_windows(length: int) -> list[tuple[int, int, int]]:
    """(earliest offset, latest offset, duration) of each break, minutes after shift start."""
    if length >= 480:
        return [(90, 150, 15), (210, 300, 30)]
    if length >= 360:
        return [(150, 210, 30)]
    return [(90, 150, 15)]


def _make_shifts(
    agent_profiles: np.ndarray,
    profiles: list[tuple[int, ...]],
    need: np.ndarray,
    layout: _Layout,
    rng: np.random.Generator,
) -> list[_AgentDef]:
    """One agent at a time, the start that adds most to Σ_q Σ_t need(q,t)·log(supply(q,t))
    (supply: agents on duty with skill q, each counted 1/|skills|), so agents on duty
    follow each queue's requirement; then breaks where the agent is least needed."""
    supply = np.zeros(need.shape)
    weights = need.astype(float) + 0.05 * need.max(axis=1, keepdims=True) + 1e-3
    cover: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    agents: list[_AgentDef] = []
    grid = 15 if layout.interval_minutes < 15 else layout.interval_minutes
    for p in agent_profiles:
        skills = list(profiles[int(p)])
        length = _draw_length(rng)
        if length not in cover:
            starts = _candidate_starts(layout, length)
            matrix = np.stack([layout.availability((s, s + length), []) for s in starts])
            cover[length] = (starts, matrix.astype(float))
        starts, matrix = cover[length]
        gain = (weights[skills] / (supply[skills] + 1.0)).sum(axis=0) / len(skills)
        score = matrix @ gain
        score *= 1.0 + 0.05 * rng.random(score.size)
        start = int(starts[int(np.argmax(score))])
        shift = (start, start + length)
        breaks: list[tuple[int, int]] = []
        for lo, hi, duration in _break_windows(length):
            options = [start + m for m in range(lo, hi + 1, 15) if (start + m) % grid == 0]
            options = options or [start + lo]
            # where the agent's queues are least short (most supply per need)
            slack = []
            for b in options:
                avail = layout.availability(shift, [(b, b + duration)])
                slack.append(float((gain * (1 - avail)).sum()) * (1.0 + 0.1 * rng.random()))
            b0 = options[int(np.argmin(slack))]
            breaks.append((b0, b0 + duration))
        available = layout.availability(shift, breaks)
        supply[skills] += available / len(skills)
        agents.append(_AgentDef(int(p), shift, breaks, available))
    return agents


def _fit_volume(
    queues: list[_QueueDef],
    base: FloatArray,
    aht: FloatArray,
    layout: _Layout,
    on_duty: np.ndarray,
    need0: np.ndarray,
    tightness: float,
) -> tuple[float, PeakRatio]:
    """The largest volume scale at which on_duty / requirement at the peak ≥ tightness
    (a bisection over the busiest candidate intervals, then checked on the whole day)."""
    candidates = list(np.argsort(-need0.sum(axis=0), kind="stable")[:8])

    def at(scale: float, ts: list[int]) -> PeakRatio:
        calls = np.round(scale * base[:, ts], 1)
        total = _requirement(queues, calls, aht[:, ts], layout).sum(axis=0)
        k = int(np.argmax(total))
        need = int(total[k])
        t = int(ts[k])
        return PeakRatio(float(on_duty[t]) / need if need else math.inf, t, int(on_duty[t]), need)

    peak_duty = float(on_duty[candidates].max())
    scale = _volume_for_load(base, aht, layout, max(peak_duty / tightness, 1.0))
    for _ in range(4):  # the peak can move with the scale: widen the candidates and redo
        lo, hi = scale / 4.0, scale * 4.0
        while at(hi, candidates).ratio >= tightness:
            lo, hi = hi, hi * 4.0
        while at(lo, candidates).ratio < tightness and lo > 1e-9:
            lo, hi = lo / 4.0, lo
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if at(mid, candidates).ratio >= tightness else (lo, mid)
        scale = lo
        whole = at(scale, list(range(layout.intervals)))
        if whole.interval in candidates:
            return scale, whole
        candidates.append(whole.interval)
    return scale, whole


def _make_overtime(
    n: int,
    profiles: list[tuple[int, ...]],
    heads: np.ndarray,
    need: np.ndarray,
    layout: _Layout,
    queues: list[_QueueDef],
    rng: np.random.Generator,
) -> list[_AgentDef]:
    """Optional agents: 4-hour blocks (no break) starting at the two busiest starts, in
    the most common profiles, paid 40-80 % of what an agent earns per interval at a
    typical queue (value × calls handled per interval)."""
    total = need.sum(axis=0).astype(float)
    starts = _candidate_starts(layout, OVERTIME_MINUTES)
    matrix = np.stack([layout.availability((s, s + OVERTIME_MINUTES), []) for s in starts]).astype(
        float
    )
    order = np.argsort(-(matrix @ total), kind="stable")
    best = [int(starts[order[0]])]
    for k in order[1:]:  # a second block at least 2 hours away from the first
        if abs(int(starts[k]) - best[0]) >= 120:
            best.append(int(starts[k]))
            break
    common = list(np.argsort(-heads, kind="stable")[: max(1, min(4, len(profiles)))])
    value = np.median([TIER_VALUE[q.tier] for q in queues])
    handled = 60.0 * layout.interval_minutes / np.median([q.aht_s for q in queues])
    levels = [round(float(value * handled * f), 1) for f in (0.4, 0.6, 0.8)]
    out = []
    for i in range(n):
        start = best[i % len(best)]
        profile = int(common[(i // len(best)) % len(common)])
        cost = levels[int(rng.integers(len(levels)))]
        shift = (start, start + OVERTIME_MINUTES)
        out.append(_AgentDef(profile, shift, [], layout.availability(shift, []), True, cost))
    return out


# --------------------------------------------------------------------------------------
# the files
# --------------------------------------------------------------------------------------


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _number(x: float) -> str:
    """Shortest exact text of a float (integers without a decimal point)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _roster_csv(
    names: list[str],
    agents: list[_AgentDef],
    profiles: list[tuple[int, ...]],
    queues: list[_QueueDef],
) -> str:
    lines = ["id,skills,shift,breaks,optional,cost"]
    for name, a in zip(names, agents, strict=True):
        skills = ";".join(queues[q].id for q in profiles[a.profile])
        shift = f"{_clock(a.shift[0])}-{_clock(a.shift[1])}"
        breaks = ";".join(f"{_clock(b0)}-{_clock(b1)}" for b0, b1 in a.breaks)
        optional = "true" if a.optional else ""
        cost = _number(a.cost) if a.optional else ""
        lines.append(f"{name},{skills},{shift},{breaks},{optional},{cost}")
    return "\n".join(lines) + "\n"


def _forecast_csv(
    layout: _Layout, queues: list[_QueueDef], calls: FloatArray, aht: FloatArray
) -> str:
    header = ["interval_start"] + [q.id for q in queues]
    header += [f"{q.id}_aht_s" for q in queues if q.intraday_aht]
    lines = [",".join(header)]
    for t in range(layout.intervals):
        minute = layout.start_minute + t * layout.interval_minutes
        cells = [f"{DATE} {_clock(minute)}"]
        cells += [f"{calls[i, t]:.1f}".removesuffix(".0") for i in range(len(queues))]
        cells += [_number(aht[i, t]) for i, q in enumerate(queues) if q.intraday_aht]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _scenario_yaml(
    spec: CenterSpec,
    layout: _Layout,
    queues: list[_QueueDef],
    peak: PeakRatio,
    roster_file: str,
    forecast_file: str,
    n_optional: int,
) -> str:
    name = spec.name or (
        f"center-{spec.agents}a-{spec.queues}q-{spec.intervals}t-"
        f"{round(spec.tightness * 100)}pct-seed{spec.seed}" + ("-coupled" if spec.coupling else "")
    )
    coupling = (
        f" Coupling: daily service-level minimums on every fifth queue, a switch penalty "
        f"of {SWITCH_PENALTY:g}, and {n_optional} optional overtime agent(s)."
        if spec.coupling
        else ""
    )
    description = (
        f"Synthetic center (optistaff generate, seed {spec.seed}): {spec.agents} agents in "
        f"{spec.n_profiles} skill profiles, {spec.queues} queues in four tiers, "
        f"{spec.intervals} intervals of {spec.interval_minutes} min. At the peak "
        f"({_clock(layout.start_minute + peak.interval * layout.interval_minutes)}) "
        f"{peak.on_duty} agents are on duty for a requirement of {peak.required} "
        f"(ratio {peak.ratio:.3f}, asked {spec.tightness:g}).{coupling}"
    )
    data: dict[str, object] = {
        "name": name,
        "description": description,
        "horizon": {
            "start": f"{DATE} {_clock(layout.start_minute)}",
            "interval_minutes": spec.interval_minutes,
            "intervals": spec.intervals,
        },
    }
    qmap: dict[str, object] = {}
    for q in queues:
        entry: dict[str, object] = {"value": TIER_VALUE[q.tier]}
        entry["aht_s"] = (
            {"file": forecast_file, "column": f"{q.id}_aht_s"} if q.intraday_aht else q.aht_s
        )
        entry["answer_within_s"] = TIER_WITHIN_S[q.tier]
        if q.patience_s is not None:
            entry["patience_s"] = q.patience_s
        entry["min_service_level"] = q.min_service_level
        if q.daily_service_level is not None:
            entry["daily_service_level"] = q.daily_service_level
        if q.max_abandon_rate is not None:
            entry["max_abandon_rate"] = q.max_abandon_rate
        if q.max_occupancy is not None:
            entry["max_occupancy"] = q.max_occupancy
        entry["forecast"] = {"file": forecast_file, "column": q.id}
        qmap[q.id] = entry
    data["queues"] = qmap
    data["agents"] = [{"file": roster_file}]
    data["policy"] = {
        "objective": "within_target",
        "switch_penalty": SWITCH_PENALTY if spec.coupling else 0.0,
        "time_limit_s": 60.0,
        "threads": 1,
        "seed": 0,
    }
    text: str = yaml.safe_dump(data, sort_keys=False, width=88, allow_unicode=True)
    return text
