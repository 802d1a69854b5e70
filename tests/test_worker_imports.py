"""The worker imports everything its threads and db_worker run before any thread starts
(tapgo.cli.worker_imports): two threads importing modules that import each other found a
module half made ("cannot import name 'deliver_message' from partially initialized module
'tapgo.messaging.tasks'") and the deliveries thread died, leaving notifications unsent."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = """
import sys
import django
django.setup()
from tapgo import cli
before = {name for name in sys.modules if name.startswith("tapgo.")}
assert "tapgo.messaging.tasks" not in before, "imported before the worker asked"
sweeps, deliveries_due = cli.worker_imports()
tasks = sorted(n for n in sys.modules if n.startswith("tapgo.") and n.endswith(".tasks"))
print(",".join(tasks))
print(",".join(s.__name__ for s in sweeps) + "|" + deliveries_due.__name__)
"""


def test_the_worker_imports_every_task_and_sweep_before_its_threads_start():
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "tapgo.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    tasks, functions = done.stdout.strip().splitlines()[-2:]
    apps = {p.parent.name for p in (ROOT / "src" / "tapgo").glob("*/tasks.py")}
    assert {f"tapgo.{app}.tasks" for app in apps} <= set(tasks.split(","))
    sweeps, deliveries = functions.split("|")
    assert "bookings_expire_due" in sweeps.split(",") and deliveries == "deliveries_due"
