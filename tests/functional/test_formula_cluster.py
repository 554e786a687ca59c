"""
The cluster formula applied for real to three clean Debian 12 hosts (see hostroot.py), each in a
network namespace of its own on a test bridge, masterless:

- corosync 3 (knet, aes256/sha256 with the pillar's authkey, node ids from pillar) forms a
  quorate membership of three, seen with ``corosync-quorumtool``;
- a second apply changes nothing;
- with one node stopped, the other two keep quorum (2 of 3 votes);
- a node given another authkey cannot join (the membership stays at the nodes that share it).

The packages are installed once, by a host in the machine's network namespace (apt needs the
mirror), whose upper folder then becomes a read-only layer of the three nodes; the nodes apply
with `cluster:pkg_refresh: false` as they have no route to the mirror.

What cannot run here: this kernel has no device-mapper, DLM or watchdog, so lvmlockd, sanlock,
dlm and fencing are switched off in this pillar (their rendering is covered by
tests/unit/test_formulas.py); pacemaker is not started.
"""

import base64
import json
import os
import re
import subprocess
import time

import pytest

from support import hostroot

pytestmark = [pytest.mark.hostroot, pytest.mark.timeout(1800)]

BRIDGE = "brine-c5br"
PREFIX = "10.78.0"
NODES = {f"cn{i}": {"id": i, "address": f"{PREFIX}.{10 + i}"} for i in (1, 2, 3)}
FORWARD = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]


def pillar(authkey, refresh=False):
    return {
        "cluster": {
            "name": "brinetest",
            "nodes": NODES,
            "corosync": {"authkey": authkey, "token": 1000},
            "pkg_refresh": refresh,
            "lvm": {"enabled": False},
            "fencing": {"enabled": False},
            "pacemaker": {"enabled": False},
        }
    }


def ip(*args, check=True):
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def quorum(node):
    """corosync-quorumtool -s on a node, as a dict of its lines (Quorate, Total votes, ...)."""
    out = node.exec("corosync-quorumtool", "-s", check=False).stdout
    info = dict(re.findall(r"^([A-Za-z][A-Za-z ]+?):\s+(.+)$", out, re.M))
    return {k.strip(): v.strip() for k, v in info.items()}


@pytest.fixture(scope="module")
def authkey():
    return base64.b64encode(os.urandom(256)).decode()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, authkey):
    hostroot.require()
    root = tmp_path_factory.mktemp("cluster")
    # Packages once, in the machine's network namespace.
    prep = hostroot.Host("cprep", root).start()
    try:
        prep.write("/srv/pillar/cluster.sls", json.dumps(pillar(authkey, refresh=None)))
        prep.salt_config(["cluster"], extra="disable_modules:\n  - systemd_service")
        ret = hostroot.states(prep.salt_call("state.apply", "cluster.package"))
        assert all(v["result"] is True for v in ret.values()), ret
    finally:
        prep.stop(keep=True)
    layer = prep.dir / "upper"
    created = []
    hosts = {}
    try:
        if not os.path.exists(f"/sys/class/net/{BRIDGE}"):
            ip("link", "add", BRIDGE, "type", "bridge")
            created.append(("link", BRIDGE))
        ip("link", "set", BRIDGE, "up")
        if subprocess.run(["iptables", "-C", *FORWARD], capture_output=True, check=False).returncode != 0:
            subprocess.run(["iptables", "-I", *FORWARD], check=True)
            created.append(("iptables", None))
        entries = {name: node["address"] for name, node in NODES.items()}
        for name, node in NODES.items():
            ns, veth = f"brine-{name}", f"brine-{name}-v"
            ip("netns", "add", ns)
            created.append(("netns", ns))
            ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("link", "set", veth, "master", BRIDGE, "up")
            ip("-n", ns, "addr", "add", f"{node['address']}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            host = hostroot.Host(name, root, hosts_entries=entries, lowers=[layer], netns=ns).start()
            hosts[name] = host
            host.write("/srv/pillar/cluster.sls", json.dumps(pillar(authkey)))
            host.salt_config(["cluster"], extra="disable_modules:\n  - systemd_service")
        yield hosts
    finally:
        for host in hosts.values():
            host.stop()
        prep.stop()
        for kind, name in reversed(created):
            if kind == "netns":
                ip("netns", "del", name, check=False)
            elif kind == "link":
                ip("link", "del", name, check=False)
            else:
                subprocess.run(["iptables", "-D", *FORWARD], check=False, capture_output=True)


@pytest.fixture(scope="module")
def applied(nodes):
    results = {}
    for name, node in nodes.items():
        started = time.monotonic()
        ret = hostroot.states(node.salt_call("state.apply", "cluster"))
        print(f"{name}: cluster applied in {time.monotonic() - started:.1f} s")
        failed = {k: v["comment"] for k, v in ret.items() if v["result"] is not True}
        assert not failed, f"{name}: {failed}"
        results[name] = ret
    return results


def test_three_nodes_form_a_quorate_membership(nodes, applied):
    assert applied["cn1"]["cluster-service-running-corosync-service-running"]["changes"]
    node = nodes["cn1"]
    hostroot.wait_for(
        lambda: quorum(node).get("Total votes") == "3", 90, f"no membership of 3: {quorum(node)}"
    )
    info = quorum(node)
    assert info["Quorate"] == "Yes" and info["Expected votes"] == "3", info
    # Node ids are the pillar's.
    members = node.exec("corosync-quorumtool", "-l").stdout
    assert {int(n) for n in re.findall(r"^\s*(\d+)\s+1\s", members, re.M)} == {1, 2, 3}, members
    key = node.path("/etc/corosync/authkey")
    assert oct(key.stat().st_mode & 0o777) == "0o400" and len(key.read_bytes()) == 256
    conf = node.exec("cat", "/etc/corosync/corosync.conf").stdout
    assert "crypto_cipher: aes256" in conf and "transport: knet" in conf


def test_second_apply_changes_nothing(nodes, applied):  # pylint: disable=unused-argument
    for name in ("cn1", "cn2"):
        ret = hostroot.states(nodes[name].salt_call("state.apply", "cluster"))
        changed = {k: v["changes"] for k, v in ret.items() if v["changes"]}
        assert changed == {}, f"{name}: {changed}"


def test_losing_one_node_of_three_keeps_quorum(nodes, applied):  # pylint: disable=unused-argument
    nodes["cn3"].exec("/etc/init.d/corosync", "stop")
    node = nodes["cn1"]
    hostroot.wait_for(
        lambda: quorum(node).get("Total votes") == "2", 90, f"cn3 did not leave: {quorum(node)}"
    )
    assert quorum(node)["Quorate"] == "Yes"


def test_a_node_with_another_authkey_cannot_join(nodes, applied):  # pylint: disable=unused-argument
    node = nodes["cn3"]
    node.write("/srv/pillar/cluster.sls", json.dumps(pillar(base64.b64encode(os.urandom(256)).decode())))
    ret = hostroot.states(node.salt_call("state.apply", "cluster"))
    assert ret["cluster-config-file-authkey-file-decode"]["changes"]
    time.sleep(10)
    assert quorum(nodes["cn1"]).get("Total votes") == "2", quorum(nodes["cn1"])
