"""The hostile-load benchmark runs end to end: a short run of both phases, as a user starts it.

Figures are never asserted here (they belong to ``benchmarks/``); what is asserted is that the
pieces work together: the users get their results in the baseline, the hostile client runs and
reports, and the run ends on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ROOT


@pytest.mark.slow
def test_a_short_run_reports_both_phases(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_hostile.py"),
            "--clients=3",
            "--seconds=2",
            "--server=werkzeug",
            "--only",
            "malformed_json",
            "--head-start=0.5",
            f"--json={figures}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "== baseline ==" in run.stdout and "== with hostiles ==" in run.stdout
    assert "click p99, failures counted" in run.stdout
    result = json.loads(figures.read_text())
    baseline, hostile = result["baseline"], result["with hostiles"]
    # The users alone: every action they started was answered, none lost, no server error.
    assert baseline["results"] > 0
    assert baseline["results"] == sum(baseline["attempted"].values())
    assert baseline["unanswered"] == 0 and baseline["lost"] == {} and baseline["5xx"] == {}
    assert baseline["sockets"] == {"socket": 3}
    assert baseline["hostiles"] == {}
    # The hostile client ran beside them and said what it sent and got back.
    tally = hostile["hostiles"]["malformed_json"]
    assert tally["sent"] > 0
    assert any(what.startswith("api nested array") for what in tally["status"])
    assert hostile["results"] > 0
