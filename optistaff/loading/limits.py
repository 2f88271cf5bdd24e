"""The limits of what optistaff loads, each with why it is what it is.

A scenario optistaff cannot solve in bounded time and memory is refused when it is
loaded (exit code 2), instead of hanging or running out of memory later; every refusal
names its limit. ``docs/scenario-rules.md`` has them as a table.
"""

# The horizon is at most 7 days (a rule of the format; its refusal says "7 days").
MAX_HORIZON_MINUTES = 7 * 24 * 60

# Size of the center.
MAX_AGENTS = 20_000  # twice the largest center the benchmarks solve
MAX_QUEUES = 1_000  # no reason of its own: bounded time and memory
MAX_PINS = 20_000  # no reason of its own: bounded time and memory
# Agents × horizon intervals: resolving availability then takes a few seconds at most.
MAX_AGENT_INTERVALS = 2_000_000
# Agents able to work one queue in one interval: the queueing tables are exact up to
# n = 5,000 (models/00-contract.md).
MAX_CELL_AGENTS = 5_000
# Staffing table entries, Σ over queues of (intervals with calls) × (most agents able to
# work the queue in one interval + 1): what the formulation tabulates and the solver
# gets one literal for. 5,000 agents on 6 queues over 96 quarter-hours is about
# 1,000,000 (measured: ~375 MB, Erlang A tables ~35 s).
MAX_TABLE_ENTRIES = 2_000_000

# Per (queue, interval): 0 or MIN_CALLS … MAX_CALLS calls.
MAX_CALLS = 1e6  # calls per (queue, interval); no reason of its own
MIN_CALLS = 1e-6  # a positive forecast below this is a zero written oddly
# Erlangs per (queue, interval): the queueing formulas' exactness range
# (models/00-contract.md).
MAX_OFFERED_LOAD = 5_000.0
MIN_AHT_S = 1.0  # a handle time under a second is a unit mistake
MAX_AHT_S = 86_400.0  # a day
MIN_PATIENCE_S = 1.0  # no reason of its own recorded
MAX_PATIENCE_S = 1e6  # beyond that, leave patience_s out: Erlang C

# value, shortfall_weight, cost, switch_penalty, shortfall_price: larger worths overflow
# the solver's scaled integer objective.
MAX_WORTH = 1e6
MAX_THREADS = 64  # CP-SAT's own parameter range
MAX_SEED = 2**31 - 1  # CP-SAT's own parameter range
# Calls waiting or in service in a queue's initial_state: as many as calls per interval.
MAX_STATE_CALLS = 1_000_000

# Files.
MAX_FILE_BYTES = 16 * 2**20  # 16 MiB a file; no reason of its own: bounded time and memory
# Nodes of a YAML document once its aliases are expanded: a "billion laughs" file is
# refused, not expanded.
MAX_YAML_NODES = 1_000_000
