"""The load scripts stop the servers they start (and the servers' own workers) on any exit:
SIGTERM, SIGHUP, an exception or a normal return."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.live import ROOT

# A stand-in for `lms serve --workers N`: a parent with a child of its own.
SERVER = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
    "time.sleep(120)"
)
SCRIPT = f"""
import sys, time
from bench.common import Children
with Children() as children:
    for _ in range(2):
        children.start([sys.executable, "-c", {SERVER!r}])
    print(" ".join(str(p.pid) for p in children.processes), flush=True)
    time.sleep(1)  # the servers start their workers
    print("ready", flush=True)
    time.sleep(2)  # the test counts them
    if sys.argv[1] == "raise":
        raise RuntimeError("the benchmark failed")
    if sys.argv[1] == "wait":
        time.sleep(120)
"""


def live_members(group: int) -> list[int]:
    """Processes of a process group that have not exited (zombies left aside)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.mark.parametrize("ending", ["sigterm", "sighup", "raise", "return"])
def test_children_are_stopped_with_their_workers(ending: str) -> None:
    mode = "wait" if ending.startswith("sig") else ending
    script = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert script.stdout is not None
    groups = [int(pid) for pid in script.stdout.readline().split()]
    assert script.stdout.readline().strip() == "ready"
    assert all(len(live_members(group)) == 2 for group in groups)  # server and its worker
    if ending.startswith("sig"):
        script.send_signal(signal.SIGTERM if ending == "sigterm" else signal.SIGHUP)
    script.wait(timeout=60)
    deadline = time.monotonic() + 10
    while any(live_members(group) for group in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [live_members(group) for group in groups] == [[], []]
    assert script.returncode != 0 or ending == "return"
