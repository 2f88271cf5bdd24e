"""Structure: the pydantic models of each section (``extra="forbid"``, strict types),
:func:`validate`, which reports every error of a model at its key's location, and the
number checks written by hand for the values the models leave open (``aht_s``,
``forecast``, ``scale_forecast`` factors).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from optistaff.loading.limits import (
    MAX_PATIENCE_S,
    MAX_SEED,
    MAX_STATE_CALLS,
    MAX_THREADS,
    MAX_WORTH,
    MIN_PATIENCE_S,
)
from optistaff.loading.problems import At, Context, number_text, show, unknown_key
from optistaff.scenario import Policy


def id_text(value: Any) -> Any:
    """Ids written as plain numbers (employee numbers) are ids too."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _datetime_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value


Id = Annotated[str, BeforeValidator(id_text), Field(min_length=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Worth = Annotated[float, Field(ge=0, le=MAX_WORTH)]
Patience = Annotated[float, Field(ge=MIN_PATIENCE_S, le=MAX_PATIENCE_S)]
Level = Annotated[float, Field(ge=0, lt=1)]
Rate = Annotated[float, Field(gt=0, le=1)]
DateTimeText = Annotated[str, BeforeValidator(_datetime_text)]
_DEFAULT_POLICY = Policy()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class HorizonModel(_Strict):
    """The ``horizon`` section, its times still as written."""

    start: DateTimeText
    interval_minutes: int
    end: DateTimeText | None = None
    intervals: Annotated[int, Field(ge=1)] | None = None


class QueueModel(_Strict):
    """One queue's fields once merged (``aht_s`` and ``forecast`` checked by hand)."""

    value: Worth
    aht_s: Any
    answer_within_s: NonNegative
    patience_s: Patience | None = None
    min_service_level: Level | None = None
    daily_service_level: Level | None = None
    max_abandon_rate: Rate | None = None
    max_occupancy: Rate | None = None
    shortfall_weight: Worth | None = None
    forecast: Any


class AgentModel(_Strict):
    """One agent as written, inline or as a roster CSV row: its shift and breaks are
    still clock-time text, resolved against the horizon by
    :func:`optistaff.loading.resolve.resolve_agent`."""

    id: Id
    skills: list[Id]
    shift: str
    breaks: list[str] = Field(default_factory=list)
    optional: bool = False
    cost: Worth = 0.0
    # times the agent is away: "FROM-TO" or "FROM-" (until the horizon end), as pins
    # write their times (docs/scenario-rules.md, *Absences*)
    absent: list[str] = Field(default_factory=list)


class FileRef(_Strict):
    """``{file: roster.csv}`` in a list of agents."""

    file: Annotated[str, Field(min_length=1)]


class ColumnRef(_Strict):
    """``{file, column}``: a per-interval value read from a CSV column."""

    file: Annotated[str, Field(min_length=1)]
    column: Annotated[str, Field(min_length=1)]


class PinModel(_Strict):
    """One pin as written (``from`` / ``to`` as clock-time text)."""

    agent: Id
    queue: Id | None
    from_: str = Field(alias="from")
    to: str


class PolicyModel(_Strict):
    """The ``policy`` section; a key left out keeps :class:`~optistaff.scenario.Policy`'s
    default."""

    objective: Literal["within_target", "served", "equity"] = _DEFAULT_POLICY.objective
    switch_penalty: Worth = _DEFAULT_POLICY.switch_penalty
    shortfall_price: Worth | None = _DEFAULT_POLICY.shortfall_price
    time_limit_s: Positive = _DEFAULT_POLICY.time_limit_s
    mip_gap: NonNegative = _DEFAULT_POLICY.mip_gap
    threads: Annotated[int, Field(ge=1, le=MAX_THREADS)] = _DEFAULT_POLICY.threads
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = _DEFAULT_POLICY.seed
    queue_model: Literal["stationary", "time_varying"] = _DEFAULT_POLICY.queue_model


class QueueStateModel(_Strict):
    """One queue's calls at the boundary of ``initial_state``."""

    waiting: Annotated[int, Field(ge=0, le=MAX_STATE_CALLS)] = 0
    in_service: Annotated[int, Field(ge=0, le=MAX_STATE_CALLS)] = 0


class InitialStateModel(_Strict):
    """The ``initial_state`` section: the boundary (``at``, default the horizon start)
    and the calls of each queue there."""

    at: str | None = None
    queues: dict[Id, QueueStateModel]


_M = TypeVar("_M", bound=BaseModel)
_LIMIT_BOUNDS = {MAX_WORTH, MAX_PATIENCE_S, MAX_THREADS, MAX_SEED}


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel]:
    """The (nested) model that holds the key at ``loc``: through a field that is a
    model, or a mapping of ids to models (``initial_state.queues.<id>``)."""
    current = model
    i = 0
    while i < len(loc) - 1:
        field = current.model_fields.get(str(loc[i]))
        if field is None:
            break
        inner = field.annotation
        args = get_args(inner)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            current, i = inner, i + 1
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            current, i = args[-1], i + 2  # a mapping: skip its key
        else:
            break
    return current


def validate(
    model: type[_M],
    data: Any,
    ctx: Context,
    locate: Callable[[tuple[str | int, ...]], At],
) -> _M | None:
    """``model.model_validate(data)``, every error reported at its key's location."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        for err in errors:
            loc = tuple(err["loc"])
            ctx.error(locate(loc), _describe(err, _allowed_keys(_model_at(model, loc))))
    unknown = {err["loc"][0] for err in errors if err["type"] == "extra_forbidden"}
    if len(unknown) == len(errors) and isinstance(data, dict):
        # only unknown keys (already reported): go on without them to find more problems
        try:
            return model.model_validate({k: v for k, v in data.items() if k not in unknown})
        except ValidationError:
            return None
    return None


def _describe(err: Any, allowed: list[str]) -> str:
    kind = err["type"]
    context = err.get("ctx") or {}
    got = show(err.get("input"))
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return unknown_key(str(err["loc"][-1]), allowed)
    bounds = {
        "greater_than": (">", "gt"),
        "greater_than_equal": (">=", "ge"),
        "less_than": ("<", "lt"),
        "less_than_equal": ("<=", "le"),
    }
    if kind in bounds:
        op, name = bounds[kind]
        bound = context.get(name)
        limit = " (optistaff's limit)" if name == "le" and bound in _LIMIT_BOUNDS else ""
        return f"must be {op} {number_text(bound)}{limit}, got {got}"
    if kind == "finite_number":
        return f"must be a finite number, got {got}"
    if kind.startswith("float"):
        return f"must be a number, got {got}"
    if kind.startswith("int"):
        return f"must be a whole number, got {got}"
    if kind.startswith("bool"):
        return f"must be true or false, got {got}"
    if kind.startswith("string_too_short"):
        return "must not be empty"
    if kind.startswith("string"):
        return f"must be a string, got {got}"
    if kind.startswith("list"):
        return f"must be a list, got {got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys, got {got}"
    if kind == "literal_error":
        return f"must be one of {context.get('expected')}, got {got}"
    return f"{err['msg']}, got {got}"


# --------------------------------------------------------------------------------------
# Numbers checked by hand (values the models leave open)
# --------------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    """An int or a float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite(value: float) -> bool:
    """math.isfinite, but an int beyond any float (YAML reads 1000...0 as one) is not
    finite either, instead of raising OverflowError."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_number(value: Any, at: At, ctx: Context, *, positive: bool) -> float | None:
    """A finite number, > 0 when ``positive`` else >= 0, as a float (None: reported)."""
    if not is_number(value):
        ctx.error(at, f"must be a number, got {show(value)}")
        return None
    if not is_finite(value):
        ctx.error(at, f"must be a finite number, got {show(value)}")
        return None
    if positive and value <= 0:
        ctx.error(at, f"must be > 0, got {show(value)}")
        return None
    if value < 0:
        ctx.error(at, f"must be >= 0, got {show(value)}")
        return None
    return float(value)
