"""Benchmark: Brine's host inventory against saltext-virt's ``virt.full_info``, through Salt.

On one lab host with N defined domains (default 300; defining needs no running QEMU), call
``hypervisor.inventory`` and ``virt.full_info`` on that host through the lab's salt-master in the
same run, and print both times (median of several calls) and the ratio. ``test.ping`` is timed
too: it is the cost of the Salt round trip itself, which both calls pay.

Run as root:  .venv/bin/python bench/inventory.py [--domains 300] [--host hv1]
The lab is used when up, else brought up and taken down again. The domains and their volumes
are removed afterwards.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import libvirt
import salt.client

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lab"))
import brinelab  # noqa: E402  pylint: disable=wrong-import-position

PREFIX = "bench-"
DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{images}/{name}.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'><source network='lab'/><model type='virtio'/></interface>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>"""
VOLUME_XML = """<volume><name>{name}.qcow2</name><capacity unit='MiB'>64</capacity>
  <target><format type='qcow2'/></target></volume>"""


def connect(lab, host):
    socket = lab.host_dir(host) / "run" / "libvirt" / "libvirt-sock"
    return libvirt.open(f"qemu+unix:///system?socket={socket}")


def define(conn, count):
    pool = conn.storagePoolLookupByName("default")
    for i in range(count):
        name = f"{PREFIX}{i:03d}"
        pool.createXML(VOLUME_XML.format(name=name), 0)
        conn.defineXML(DOMAIN_XML.format(name=name, images=brinelab.SHARED_IMAGES))


def clean(conn):
    for dom in conn.listAllDomains():
        if dom.name().startswith(PREFIX):
            dom.undefine()
    pool = conn.storagePoolLookupByName("default")
    pool.refresh(0)
    for vol in pool.listAllVolumes():
        if vol.name().startswith(PREFIX):
            vol.delete(0)


def call(client, host, fun, timeout, blocking):
    """One call of ``fun`` on ``host``: its return, or SystemExit with what went wrong.

    blocking=True collects the return as the cluster runner does (blocking reads of the job's
    return event); blocking=False uses LocalClient.cmd, whose non-blocking polling reads 4 KiB
    and sleeps 10 ms per chunk, so its time grows with the size of the answer.
    """
    if not blocking:
        ret = client.cmd(host, fun, timeout=timeout, full_return=True).get(host) or {}
        data = {"return": ret.get("ret"), "retcode": ret.get("retcode", 1 if not ret else 0)}
    else:
        pub = client.run_job(host, fun, timeout=timeout, listen=True)
        event = client.event.get_event(wait=timeout, tag=f"salt/job/{pub['jid']}/ret/{host}", full=True)
        data = (event or {}).get("data") or {}
    if data.get("retcode", 0) != 0 or not isinstance(data.get("return"), dict):
        raise SystemExit(f"{fun} on {host} failed: {data}")
    return data["return"]


def timed_calls(client, host, fun, runs, timeout, blocking=True):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = call(client, host, fun, timeout, blocking)
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domains", type=int, default=300)
    parser.add_argument("--host", default="hv1")
    parser.add_argument("--runs", type=int, default=5, help="calls of hypervisor.inventory")
    parser.add_argument("--virt-runs", type=int, default=3, help="calls of virt.full_info")
    args = parser.parse_args()

    lab = brinelab.Lab()
    state = lab.load_state()
    started = False
    if not state.get("hosts") or lab.problems(state):
        lab.up(2)
        started = True
    conn = connect(lab, args.host)
    try:
        clean(conn)
        start = time.perf_counter()
        define(conn, args.domains)
        conn.storagePoolLookupByName("default").refresh(0)
        total = len(conn.listAllDomains())
        print(
            f"defined {args.domains} domains on {args.host} in {time.perf_counter() - start:.1f} s "
            f"({total} domains on the host)"
        )
        client = salt.client.LocalClient(str(lab.master_conf_dir / "master"))
        ping, _, _ = timed_calls(client, args.host, "grains.items", args.runs, 30)
        ours, ours_all, inventory = timed_calls(client, args.host, "hypervisor.inventory", args.runs, 120)
        theirs, theirs_all, full_info = timed_calls(client, args.host, "virt.full_info", args.virt_runs, 600)
        ours_cmd, _, _ = timed_calls(
            client, args.host, "hypervisor.inventory", args.runs, 120, blocking=False
        )
        if len(inventory["vms"]) != total or len(full_info["vm_info"]) != total:
            raise SystemExit(
                f"incomplete answers: inventory {len(inventory['vms'])}, "
                f"full_info {len(full_info['vm_info'])}, host has {total}"
            )
    finally:
        clean(conn)
        conn.close()
        if started:
            lab.down()

    print(f"\nHost inventory of {total} domains on {args.host}, through Salt (median wall time):")
    print(f"  grains.items (Salt round trip) {ping:6.3f} s")
    print(f"  hypervisor.inventory (Brine)  {ours:7.3f} s   runs: {', '.join(f'{t:.3f}' for t in ours_all)}")
    print(
        f"  virt.full_info (saltext-virt) {theirs:7.3f} s   runs: {', '.join(f'{t:.3f}' for t in theirs_all)}"
    )
    print(f"  ratio full_info / inventory   {theirs / ours:7.1f}x   (goal: >= 10x)")
    net_ours, net_theirs = max(ours - ping, 1e-3), max(theirs - ping, 1e-3)
    print(
        f"  without the round trip        {net_ours:7.3f} s vs {net_theirs:.3f} s = "
        f"{net_theirs / net_ours:.1f}x"
    )
    print(f"  goal: inventory under 0.5 s for 300 domains: {'met' if ours < 0.5 else 'NOT met'}")
    print(f"  (hypervisor.inventory collected with LocalClient.cmd's polling instead: {ours_cmd:.3f} s)")


if __name__ == "__main__":
    main()
