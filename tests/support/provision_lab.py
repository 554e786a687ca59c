"""
Provisioning on the lab, for the end-to-end and security tiers: the catalog a test needs (made
through the site as an admin), what exists on the hosts (to prove a refusal created nothing),
and waiting for an install to end.
"""

import time

from support.lab import brinelab
from support.site import runner

TREE_URL = brinelab.TREE_URL

# The lab's catalog, entry by entry, in the order references need.
ENTRIES = (
    ("profiles", "tiny", {"memory": 128, "vcpus": 1, "disk": 1}),
    ("os_trees", "lab-el9", {"url": TREE_URL, "os_variant": "rhel9.0", "kickstart": "rhel"}),
    ("products", "lab-base", {"url": "http://repo.lab.example/base/"}),
    ("products", "lab-tools", {"url": "http://repo.lab.example/tools/"}),
    ("views", "lab-core", {"products": ["lab-base"]}),
    ("views", "lab-all", {"products": ["lab-base", "lab-tools"]}),
    ("activation_keys", "lab-key", {"views": ["lab-core", "lab-all"]}),
    (
        "host_groups",
        "lab-web",
        {
            "profile": "tiny",
            "os_tree": "lab-el9",
            "activation_key": "lab-key",
            "network": "lab",
            "pool": "default",
            "placement": {"kind": "any"},
        },
    ),
)


def make_catalog(lab, admin_token):
    for kind, name, fields in ENTRIES:
        status, ret = runner(lab, admin_token, "provision.catalog_set", kind=kind, name=name, **fields)
        assert status == 200 and "error" not in ret, (kind, name, ret)


def remove_catalog(lab, admin_token):
    for kind, name, _fields in reversed(ENTRIES):
        runner(lab, admin_token, "provision.catalog_delete", kind=kind, name=name)


def footprint(lab):
    """Every domain on every lab host, and every file in the hosts' shared image folder (the
    pool ``default``; read from the folder, as a pool's list is only as fresh as its refresh)."""
    domains = {host: sorted(lab.virsh(host, "list", "--all", "--name").split()) for host in lab.hosts}
    return domains, sorted(path.name for path in lab.lab.shared.iterdir())


def install_events(stream, name):
    """The payloads of ``brine/vm/<host>/<name>/install`` events a StreamReader received."""
    return [
        event["data"]
        for event in stream.events()
        if str(event.get("tag", "")).endswith(f"/{name}/install") and isinstance(event.get("data"), dict)
    ]


def where_defined(lab, name):
    return [host for host in lab.hosts if name in lab.virsh(host, "list", "--all", "--name").split()]


def remove_vm(lab, name):
    """Take a test's VM away on whichever host has it (and its disk), quietly."""
    for host in where_defined(lab, name):
        lab.lab.virsh(host, "destroy", name, check=False)
        lab.lab.virsh(host, "undefine", name, "--remove-all-storage", check=False)


def serial_log(lab, host, name):
    path = lab.lab.host_dir(host) / "log" / "libvirt" / "qemu" / f"{name}-serial.log"
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


def wait_for(predicate, timeout, message, pause=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(pause)
    raise AssertionError(message)
