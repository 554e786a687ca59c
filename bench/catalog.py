"""Benchmark: how the provisioning catalog's calls scale to 1,000 entries per kind (issue 10).

For each size N (default 10, 100 and 1,000), a fresh temporary folder gets N entries of every
kind (6 N in all, each view naming two products, each key two views, each host group a profile,
an OS tree and a key), written with the store's own renderer. Then each call is timed, median
of several runs, through ``brine.catalog_store.Store`` as the runner will call it:

- ``read()``: the whole catalog, six files, under the shared lock: parsed (as in a fresh process),
  and again unchanged (a process that read the same bytes before, like the master's pillar
  workers, does not parse them again);
- ``set`` of a new profile and the replacement of a host group (which checks its references),
  each under the exclusive lock: read the files it needs, validate, write one file atomically;
- ``delete`` of an unused profile, and a refused delete of a product in use (its users found);
- ``users_of``, ``repositories`` and ``resolve`` on content already read.

It prints the times in milliseconds, the ratio of 1,000 to 10 entries per call, and the files'
sizes. A benchmark: it prints figures and asserts nothing. No lab needed.

Run:  .venv/bin/python bench/catalog.py [--sizes 10 100 1000] [--runs 7]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "_utils"))

from brine import catalog  # noqa: E402  pylint: disable=wrong-import-position
from brine import catalog_store  # noqa: E402  pylint: disable=wrong-import-position
from brine import errors  # noqa: E402  pylint: disable=wrong-import-position
from brine import kickstart  # noqa: E402  pylint: disable=wrong-import-position


def template():
    """The first kickstart template the project ships; 'rhel' (stubbed) while none is written yet."""
    names = kickstart.template_names()
    if names:
        return names[0], False
    kickstart.template_names = lambda: ["rhel"]
    return "rhel", True


def content_of(size, kickstart_name):
    """N entries of every kind, each referring to existing ones."""

    def other(i):
        return (i + 1) % size

    return {
        "profiles": {f"p{i}": {"memory": 1024 + i, "vcpus": 1 + i % 8, "disk": 10 + i} for i in range(size)},
        "os_trees": {
            f"t{i}": {
                "url": f"http://mirror{i}.example.com/rhel9/os/",
                "os_variant": "rhel9.0",
                "kickstart": kickstart_name,
            }
            for i in range(size)
        },
        "products": {f"pr{i}": {"url": f"http://mirror.example.com/repo{i}/$basearch/"} for i in range(size)},
        "views": {f"v{i}": {"products": [f"pr{i}", f"pr{other(i)}"]} for i in range(size)},
        "activation_keys": {f"k{i}": {"views": [f"v{i}", f"v{other(i)}"]} for i in range(size)},
        "host_groups": {
            f"g{i}": {
                "profile": f"p{i}",
                "os_tree": f"t{i}",
                "activation_key": f"k{i}",
                "network": "default",
                "pool": "default",
                "placement": {"kind": "grain", "key": "site:rack", "value": f"r{i % 10}"},
            }
            for i in range(size)
        },
    }


def median_ms(call, runs):
    times = []
    for run in range(runs):
        start = time.perf_counter()
        call(run)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def refused_delete(store):
    try:
        store.delete("products", "pr0")
    except errors.Refused as err:
        assert err.code == "in_use"  # the call itself must be the refusal being timed
    else:
        raise SystemExit("the delete of a used product was not refused")


def measure(folder, size, runs, kickstart_name):
    """``{label: milliseconds}`` for one catalog of ``size`` entries per kind in ``folder``."""
    content = content_of(size, kickstart_name)
    os.makedirs(folder, mode=catalog_store.DIR_MODE)
    for kind in catalog.KINDS:
        catalog_store.write_atomically(
            os.path.join(folder, f"{kind}.yaml"), catalog_store.render(kind, content[kind])
        )
    store = catalog_store.Store(folder)
    read = store.read()
    assert read == content, "the catalog read back differs from the one written"
    group = dict(content["host_groups"]["g0"])
    profile = {"memory": 2048, "vcpus": 2, "disk": 20}
    figures = {
        "read() of all 6 kinds, parsed": median_ms(lambda _run: catalog_store.forget() or store.read(), runs),
        "read() of all 6 kinds, unchanged": median_ms(lambda _run: store.read(), runs),
        "set a new profile": median_ms(lambda run: store.set("profiles", f"new{run}", profile), runs),
        "set (replace) a host group": median_ms(lambda _run: store.set("host_groups", "g0", group), runs),
        "delete an unused profile": median_ms(lambda run: store.delete("profiles", f"new{run}"), runs),
        "delete a used product (refused)": median_ms(lambda _run: refused_delete(store), runs),
        "users_of a product": median_ms(lambda _run: catalog.users_of(read, "products", "pr0"), runs),
        "repositories of a key": median_ms(lambda _run: catalog.repositories(read, "k0"), runs),
        "resolve a host group": median_ms(lambda _run: catalog.resolve(read, host_group="g0"), runs),
    }
    sizes = sum(os.path.getsize(os.path.join(folder, f"{kind}.yaml")) for kind in catalog.KINDS)
    return figures, sizes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000], help="entries per kind")
    parser.add_argument("--runs", type=int, default=7, help="calls timed per figure (median)")
    args = parser.parse_args()
    kickstart_name, stubbed = template()
    results, file_sizes = {}, {}
    with tempfile.TemporaryDirectory(prefix="brine-bench-catalog-") as root:
        for size in args.sizes:
            results[size], file_sizes[size] = measure(
                os.path.join(root, str(size)), size, args.runs, kickstart_name
            )
    low, high = min(args.sizes), max(args.sizes)
    print(f"Brine catalog, median of {args.runs} calls, milliseconds; entries per kind across the top")
    if stubbed:
        print("(no kickstart template shipped yet: template_names() stubbed to ['rhel'])")
    print(f"{'call':36}" + "".join(f"{size:>10}" for size in args.sizes) + f"{f'{high}/{low}':>10}")
    for label in results[low]:
        row = "".join(f"{results[size][label]:10.2f}" for size in args.sizes)
        ratio = results[high][label] / results[low][label] if results[low][label] else float("nan")
        print(f"{label:36}{row}{ratio:9.1f}x")
    print(
        f"{'files, KiB (all 6 kinds)':34}"
        + "".join(f"{file_sizes[size] / 1024:10.1f}" for size in args.sizes)
    )


if __name__ == "__main__":
    main()
