"""Benchmark: live migration of a 128 MiB idle lab guest, drop to done, and its downtime.

Migrates ``lab-vm1`` between lab hosts hv1 and hv2 through the ``cluster.migrate`` runner (the
call the web UI makes when a VM is dropped on a host), five times each way, and prints for each
setting the median time from the runner call to its return ("drop to done": the check of the
target, the migration, the refreshed VM dict) and the median downtime libvirt measured (the time
the guest was paused between source and target), beside QEMU's default maximum downtime of
300 ms. Settings: QEMU's default maximum downtime (300 ms, passed explicitly), and the lab's
default (``brine:migration:max_downtime: 50`` in its pillar, used when the call gives none).

Run as root:  .venv/bin/python bench/migration.py [--runs 5]
It takes the lab's e2e lock (/run/brine-e2e.lock) so it never moves a guest under a test, and
leaves lab-vm1 running on hv1. The lab must be up.
"""

import argparse
import fcntl
import statistics
import sys
import time
from pathlib import Path

import salt.config
import salt.runner

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lab"))
import brinelab  # noqa: E402  pylint: disable=wrong-import-position

VM = "lab-vm1"
HOME, AWAY = "hv1", "hv2"
QEMU_DEFAULT_MAX_DOWNTIME_MS = 300
LOCK = "/run/brine-e2e.lock"


def migrate(runner, target, **options):
    started = time.monotonic()
    result = runner.cmd("cluster.migrate", kwarg=dict(options, name=VM, target=target), print_event=False)
    elapsed = time.monotonic() - started
    if not isinstance(result, dict) or result.get("target") != target:
        raise SystemExit(f"migration to {target} failed: {result}")
    return elapsed, result.get("downtime"), result.get("total_time")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="migrations each way per setting (default 5)")
    args = parser.parse_args()
    lab = brinelab.Lab()
    if lab.problems(lab.load_state()) or not lab.load_state().get("hosts"):
        raise SystemExit("the lab is not up: run ./lab/brine-lab up")
    opts = salt.config.master_config(str(lab.master_conf_dir / "master"))
    runner = salt.runner.RunnerClient(opts)
    with open(LOCK, "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        where = lab.virsh(HOME, "domstate", VM, check=False).strip()
        if where != "running":
            raise SystemExit(f"{VM} is not running on {HOME} ({where!r}); put it back first")
        settings = (("max_downtime=300 (QEMU's)", {"max_downtime": 300}), ("lab default (50 ms)", {}))
        rows = []
        for label, options in settings:
            drop_to_done, downtimes, libvirt_times = [], [], []
            for _ in range(args.runs):
                for target in (AWAY, HOME):
                    elapsed, downtime, total = migrate(runner, target, **options)
                    drop_to_done.append(elapsed)
                    libvirt_times.append(total)
                    if downtime is not None:
                        downtimes.append(downtime)
            rows.append((label, drop_to_done, libvirt_times, downtimes))
    print(
        f"\nLive migration of {VM} (128 MiB, idle) between {HOME} and {AWAY}, "
        f"{args.runs} runs each way per setting (medians):"
    )
    print(
        f"  {'setting':<28}{'drop to done':>14}{'migration':>12}{'downtime':>11}   "
        f"vs QEMU's default max downtime"
    )
    for label, drop_to_done, libvirt_times, downtimes in rows:
        downtime = statistics.median(downtimes) if downtimes else float("nan")
        print(
            f"  {label:<28}{statistics.median(drop_to_done):>12.2f} s"
            f"{statistics.median(libvirt_times):>10.2f} s"
            f"{downtime:>8.0f} ms   {QEMU_DEFAULT_MAX_DOWNTIME_MS} ms "
            f"({downtime / QEMU_DEFAULT_MAX_DOWNTIME_MS:.2f}x); range {min(downtimes, default=0)}-"
            f"{max(downtimes, default=0)} ms"
        )
    print(
        "  drop to done: cluster.migrate called to returned (target check, migration, VM dict);"
        " migration: libvirt's call on the source; downtime: as libvirt measured it.\n"
    )


if __name__ == "__main__":
    main()
