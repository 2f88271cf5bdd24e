"""Start-up (issue 17, ``models/03-solver.md``): a command loads only what it uses. A
stationary day that the exact interval search proves alone never imports CP-SAT (its
Python layer, with the pandas API it pulls in: 0.26-0.33 s here when nothing else had
loaded pandas).

Independent truth: ``sys.modules`` of a fresh interpreter after the solve."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from optistaff.generate import CenterSpec, write_center

CHILD = """
import json, sys
import optistaff
plan = optistaff.solve(sys.argv[1])
print(json.dumps({
    "status": str(plan.status),
    "decomposition": plan.summary["solver"]["decomposition"],
    "loaded": sorted(m for m in sys.modules
                     if m.startswith("ortools.sat")),
}))
"""


def test_a_day_the_search_proves_loads_no_cp_sat(tmp_path: Path) -> None:
    path = write_center(CenterSpec(60, 4, 16, tightness=0.9, seed=3), tmp_path, overwrite=True)
    text = path.read_text()
    path.write_text(re.sub(r"^policy:\n", "policy:\n  queue_model: stationary\n", text, flags=re.M))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["status"] == "optimal"
    assert got["decomposition"] == "per-interval"
    assert got["loaded"] == []
