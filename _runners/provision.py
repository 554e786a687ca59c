"""
Brine's provisioning from the master: the catalog, and new VMs installed from it
===============================================================================

The ``provision`` runner keeps the catalog (profiles, OS trees, products, views, activation
keys, host groups: YAML files in ``brine:provision:catalog_dir``) and creates VMs from it:
``create`` validates everything, places the VM, renders its kickstart, seals it for the chosen
host and starts the unattended install there; the host's ``brine_installs`` engine reports the
install until the VM runs (docs/provisioning.md).

This file is the Salt face over Brine's library (``catalog``, ``catalog_store``, ``kickstart``,
``placement``, ``sealed``); every public function is wrapped by ``brine.face``, so a refusal
returns ``{"error": {"code", "message"}}``. Roles (master.d/brine-eauth.conf): admins change
the catalog; operators read it and create VMs; viewers read.

:depends: the ``provision`` execution module synced to every host; Brine's library in the
    master's ``utils_dirs``
:configuration: ``brine:provision:catalog_dir``, ``brine:inventory:timeout`` (pillar.example)
"""

import fcntl
import hashlib
import os

import salt.client
import salt.utils.minions

from brine import catalog as catalog_lib
from brine import catalog_store
from brine import config
from brine import credentials
from brine import face
from brine import fanout
from brine import kickstart
from brine import placement
from brine import sealed
from brine import validate
from brine.errors import Invalid
from brine.errors import Refused

__virtualname__ = "provision"
public = face.runner(__virtualname__, lambda: globals().get("__context__"))

# Seconds a host may take to start an install (virt-install fetches the tree's kernel first).
INSTALL_WAIT = 660


def __virtual__():
    return __virtualname__


def _lookup():
    return config.master_lookup(__opts__, globals().get("__pillar__"))


def _store():
    return catalog_store.Store(config.get("provision:catalog_dir", _lookup()))


def _timeout():
    return fanout.timeout(config.get("inventory:timeout", _lookup()), "brine:inventory:timeout")


def _local_client():
    return salt.client.get_local_client(__opts__["conf_file"])


# ---- The catalog


@public
def catalog(kind=None):
    """
    The catalog: ``{kind: {name: fields}}`` for every kind, or for ``kind`` only.

    CLI Example:

    .. code-block:: bash

        salt-run provision.catalog
        salt-run provision.catalog host_groups
    """
    content = _store().read()
    if kind is None:
        return content
    return {catalog_lib.check_kind(kind): content.get(kind, {})}


@public
def catalog_set(kind, name, **fields):
    """
    Create or replace the catalog entry ``name`` of ``kind`` with ``fields`` (all of them;
    docs/provisioning.md lists each kind's). Returns ``{"kind", "name", "fields"}``.

    CLI Example:

    .. code-block:: bash

        salt-run provision.catalog_set profiles small memory=128 vcpus=1 disk=1
        salt-run provision.catalog_set views base 'products=[os, updates]'
    """
    kind = catalog_lib.check_kind(kind)
    fields = {key: value for key, value in fields.items() if not str(key).startswith("__")}
    return {"kind": kind, "name": name, "fields": _store().set(kind, name, fields)}


@public
def catalog_delete(kind, name):
    """
    Delete the catalog entry ``name`` of ``kind``; refused (``in_use``) while another entry
    uses it, naming those. Returns ``{"kind", "name", "deleted": true}``.

    CLI Example:

    .. code-block:: bash

        salt-run provision.catalog_delete profiles small
    """
    kind = catalog_lib.check_kind(kind)
    _store().delete(kind, name)
    return {"kind": kind, "name": name, "deleted": True}


@public
def sealing_key():
    """
    The master's public key, for a browser to seal a root password's hash to it
    (``password_hash_sealed`` of ``create``): ``{"key": <SPKI DER, base64>, "algorithm":
    "RSA-OAEP-256"}``. A runner's arguments are on the event bus and in the job cache; a
    sealed hash is only readable with the master's private key.

    CLI Example:

    .. code-block:: bash

        salt-run provision.sealing_key
    """
    with open(os.path.join(__opts__["pki_dir"], "master.pub"), "rb") as key_file:
        return {"key": sealed.public_key_der(key_file.read()), "algorithm": "RSA-OAEP-256"}


@public
def kickstarts():
    """
    The kickstart templates Brine ships (an OS tree's ``kickstart`` is one of them).

    CLI Example:

    .. code-block:: bash

        salt-run provision.kickstarts
    """
    return {"kickstarts": kickstart.template_names()}


# ---- Creating a VM


def _mac(name):
    """A stable MAC for the VM's first NIC: QEMU's 52:54:00 prefix and three bytes of a hash."""
    digest = hashlib.sha256(f"brine:{name}:nic0".encode()).digest()
    return "52:54:00:" + ":".join(f"{byte:02x}" for byte in digest[:3])


def _hosts_matching(where):
    """The hypervisor hosts the placement allows, from the master's caches (no publish)."""
    ckminions = salt.utils.minions.CkMinions(__opts__)
    hosts = set(ckminions.check_minions(fanout.HOST_TARGET, fanout.HOST_TARGET_TYPE)["minions"])
    if where["kind"] == "host":
        if where["value"] not in hosts:
            raise Refused("no_host", f"{where['value']} is not a hypervisor host of this cluster")
        return [where["value"]]
    if where["kind"] in ("grain", "pillar"):
        tgt_type = "grain" if where["kind"] == "grain" else "pillar"
        matched = ckminions.check_minions(f"{where['key']}:{where['value']}", tgt_type)["minions"]
        return sorted(hosts & set(matched))
    return sorted(hosts)


def _unsealed(password_hash_sealed):
    with open(os.path.join(__opts__["pki_dir"], "master.pem"), "rb") as key_file:
        return sealed.unwrap(key_file.read(), password_hash_sealed, "password_hash_sealed")


def _credentials(password_hash, ssh_key, password_hash_sealed=None):
    if password_hash_sealed not in (None, ""):
        if password_hash not in (None, ""):
            raise Invalid("give password_hash or password_hash_sealed, not both")
        password_hash = _unsealed(password_hash_sealed)
    if password_hash in (None, "") and ssh_key in (None, ""):
        raise Invalid(
            "a create needs password_hash (SHA-512 crypt) or ssh_key: Brine takes no plaintext password"
        )
    hashed = None if password_hash in (None, "") else credentials.check_password_hash(password_hash)
    key = None if ssh_key in (None, "") else credentials.check_ssh_key(ssh_key)
    return hashed, key


def _kickstart(name, parts, mac, hashed, key):
    context = {
        "name": name,
        "os_variant": parts["os_variant"],
        "url": parts["url"],
        "repositories": parts["repositories"],
        "nics": [{"mac": mac}],
        "password_hash": hashed,
        "ssh_key": key,
        "disk": parts["disk"],
    }
    return kickstart.render(parts["kickstart"], context)


def _plan(name, parts, mac, host, report, text):
    return {
        "name": name,
        "host": host,
        "host_group": parts["host_group"],
        "profile": parts["profile"],
        "memory": parts["memory"],
        "vcpus": parts["vcpus"],
        "disk": parts["disk"],
        "os_tree": parts["os_tree"],
        "os_variant": parts["os_variant"],
        "url": parts["url"],
        "network": parts["network"],
        "pool": parts["pool"],
        "nics": [{"network": parts["network"], "mac": mac}],
        "volume": f"{name}.qcow2",
        "repositories": parts["repositories"],
        "kickstart": credentials.redacted(text),
        "placement": {"host": host, "hosts": report},
    }


def _answers(client, needs):
    expected, entries = fanout.gather(client, "provision.capacity", {"needs": needs}, _timeout())
    answers = {}
    for host in expected:
        entry = entries.get(host)
        error = fanout.host_error(entry, "provision.capacity") if fanout.answered(entry) else None
        if not fanout.answered(entry):
            answers[host] = {"error": f"{host} did not answer"}
        elif error:
            answers[host] = {"error": error[1]}
        else:
            answers[host] = entry["ret"]
    return answers


class _CreateLock:
    """One create at a time on this master, from the name check to the install's start."""

    def __enter__(self):
        folder = os.path.join(__opts__["cachedir"], "brine")
        os.makedirs(folder, mode=0o700, exist_ok=True)
        self.handle = open(os.path.join(folder, "provision.lock"), "a+", encoding="utf-8")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *_exc):
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def _sealed_for(host, text, name):
    path = os.path.join(__opts__["pki_dir"], "minions", host)
    with open(path, "rb") as key_file:
        return sealed.seal(key_file.read(), text, f"provision.install:{name}")


def _start(client, host, parts, name, mac, text, keep_failed):
    spec = {
        "name": name,
        "memory": parts["memory"],
        "vcpus": parts["vcpus"],
        "disk": parts["disk"],
        "pool": parts["pool"],
        "network": parts["network"],
        "mac": mac,
        "url": parts["url"],
        "os_variant": parts["os_variant"],
        "keep_failed": keep_failed,
    }
    kwarg = {"spec": spec, "kickstart": _sealed_for(host, text, name)}
    ret, error = fanout.ask(client, host, "provision.install", kwarg, INSTALL_WAIT)
    if error:
        raise Refused(error[0], f"{host}: {error[1]}")
    return ret


@public
def create(  # pylint: disable=too-many-arguments
    name,
    host_group=None,
    profile=None,
    memory=None,
    vcpus=None,
    disk=None,
    os_tree=None,
    activation_key=None,
    network=None,
    pool=None,
    host=None,
    password_hash=None,
    ssh_key=None,
    keep_failed=False,
    test=False,
    password_hash_sealed=None,
):
    """
    Create VM ``name`` from the catalog and start its unattended install.

    Give a ``host_group`` (its parts are the defaults) and/or the parts: ``profile`` or
    ``memory`` (MiB), ``vcpus`` and ``disk`` (GiB); ``os_tree``, ``activation_key``,
    ``network``, ``pool``; ``host`` (else the group's placement, else any host with room).
    Authentication: ``password_hash`` (SHA-512 crypt, ``openssl passwd -6``), or the same
    sealed to the master's key (``password_hash_sealed``, what the browser sends: see
    ``sealing_key``; a runner's arguments land on the event bus and in the job cache), and/or
    ``ssh_key``; Brine never takes a plaintext password. ``keep_failed`` keeps a failed
    install's VM for debugging. With ``test=True`` only the plan comes back.

    Returns the plan (docs/provisioning.md) and, unless ``test``, ``state: installing``. The
    host's ``brine/vm/<host>/<name>/install`` events then report it until it runs.

    CLI Example:

    .. code-block:: bash

        salt-run provision.create web1 host_group=web ssh_key="$(cat ~/.ssh/id_ed25519.pub)"
        salt-run provision.create web2 profile=small os_tree=el9 network=lab pool=default \\
            password_hash="$(openssl passwd -6)" test=True
    """
    name = validate.vm_name(name)
    hashed, key = _credentials(password_hash, ssh_key, password_hash_sealed)
    keep_failed = validate.flag(keep_failed, "keep_failed")
    test = validate.flag(test, "test")
    parts = catalog_lib.resolve(
        _store().read(), host_group, profile=profile, memory=memory, vcpus=vcpus, disk=disk,
        os_tree=os_tree, activation_key=activation_key, network=network, pool=pool, host=host,
    )  # fmt: skip
    mac = _mac(name)
    text = _kickstart(name, parts, mac, hashed, key)
    needs = {k: parts[k] for k in ("memory", "vcpus", "disk", "network", "pool")}
    needs["name"] = name
    candidates = _hosts_matching(parts["placement"])
    with _CreateLock(), _local_client() as client:
        chosen, report = placement.choose(name, _answers(client, needs), candidates)
        plan = _plan(name, parts, mac, chosen, report, text)
        if test:
            return dict(plan, test=True)
        started = _start(client, chosen, parts, name, mac, text, keep_failed)
    return dict(plan, uuid=started.get("uuid"), state="installing")


@public
def installs():
    """
    Installs in progress and failed ones, per host:
    ``{"installs": [{"host", "name", "state", "progress", "step", "reason", "at"}]}``.

    CLI Example:

    .. code-block:: bash

        salt-run provision.installs
    """
    with _local_client() as client:
        expected, entries = fanout.gather(client, "provision.installs", None, _timeout())
    found = []
    for host in expected:
        entry = entries.get(host)
        if not fanout.answered(entry) or fanout.host_error(entry, "provision.installs"):
            continue
        ret = entry["ret"]
        for item in ret.get("installing", []):
            found.append(dict(item, host=host, state="installing", reason=None, at=None))
        for item in ret.get("failed", []):
            found.append(dict(item, host=host, state="failed", progress=None, step=None))
    return {"installs": found}


@public
def dismiss(name, host):
    """
    Forget the record of ``name``'s failed install on ``host``.

    CLI Example:

    .. code-block:: bash

        salt-run provision.dismiss web1 hv2
    """
    name = validate.vm_name(name)
    host = validate.host_id(host, "host")
    with _local_client() as client:
        ret, error = fanout.ask(client, host, "provision.dismiss", {"name": name}, _timeout())
    if error:
        raise Refused(error[0], f"{host}: {error[1]}")
    return ret
