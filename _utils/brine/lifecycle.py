"""
The lifecycle of a VM on its host: refusing what its state makes impossible, waiting for a
guest to power off, and deleting a VM with the disks that are its own.

Every function works on a connection and domain its caller opened (``brine.libvirt_host``);
refusals are ``brine.errors.Refused`` with the vocabulary's code and sentence.

:depends: libvirt-python
"""

import os
import time

from brine import domxml
from brine import libvirt_host
from brine import vocabulary
from brine.errors import Refused

try:
    import libvirt
except ImportError:
    libvirt = None

SHUTDOWN_POLL_SECONDS = 0.25


def check_allowed(action, name, host, state):
    """Refuse ``action`` on VM ``name`` in ``state`` with the vocabulary's code and sentence."""
    refusal = vocabulary.refusal(action, name, host, state)
    if refusal:
        raise Refused(*refusal)


def prepare(conn, name, host, action):
    """The domain ``name`` when ``action`` makes sense for its state, else ``Refused``."""
    dom = libvirt_host.lookup(conn, name, host)
    check_allowed(action, name, host, libvirt_host.current_state(dom))
    return dom


def result(conn, dom, host, action, changed, comment):
    """What every lifecycle action returns: the VM's state and VM dict after it."""
    vm = libvirt_host.describe_domain(conn, dom)
    return {
        "name": dom.name(),
        "host": host,
        "action": action,
        "changed": changed,
        "comment": comment,
        "state": vm["state"] if vm else "shutoff",
        "vm": vm,
    }


def wait_until_off(dom, timeout, poll=SHUTDOWN_POLL_SECONDS):
    """Poll ``dom`` until it is no longer active or ``timeout`` seconds passed; True when off."""
    deadline = time.monotonic() + timeout
    while vocabulary.is_active(libvirt_host.current_state(dom)):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(poll, remaining))
    return True


def _disks_used_elsewhere(conn, own_uuid):
    """{normalised path: name of another VM using it} over every other domain."""
    used = {}
    for other in conn.listAllDomains(0):
        if other.UUIDString() == own_uuid:
            continue
        try:
            other_disks = domxml.parse_domain(other.XMLDesc(0))["disks"]
        except libvirt.libvirtError as err:
            if libvirt_host.is_missing(err):
                continue
            raise
        for disk in other_disks:
            if disk["path"]:
                used.setdefault(os.path.normpath(disk["path"]), other.name())
    return used


def disk_removal_plan(conn, dom, parsed):
    """
    [(path, volume or None, reason kept)] for the disks of ``dom``: a disk is removed only if
    it is a volume of an active storage pool, is a disk (not a cdrom or floppy, whose images are
    usually shared), and no other VM uses it.
    """
    volumes = libvirt_host.pool_volumes(conn)
    used_elsewhere = _disks_used_elsewhere(conn, dom.UUIDString())
    plan = []
    for disk in parsed["disks"]:
        if not disk["path"]:
            continue
        path = os.path.normpath(disk["path"])
        found = volumes.get(path)
        if disk["device"] not in ("disk", "lun"):
            plan.append((disk["path"], None, f"a {disk['device']}"))
        elif path in used_elsewhere:
            plan.append((disk["path"], None, f"also used by {used_elsewhere[path]}"))
        elif found is None:
            plan.append((disk["path"], None, "not a volume of an active libvirt storage pool"))
        else:
            plan.append((disk["path"], found[1], None))
    return plan


def _has_checkpoints(dom):
    try:
        return bool(dom.listAllCheckpoints(0))
    except libvirt.libvirtError as err:
        if err.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
            raise
        return False


def delete(conn, dom, name, host, remove_disks, test):
    """
    Undefine the inactive ``dom`` (and, with ``remove_disks``, the pool volumes that are its
    own); in ``test`` mode only say what would happen. Returns the action's result dict.
    """
    xml_text = dom.XMLDesc(0)
    plan = disk_removal_plan(conn, dom, domxml.parse_domain(xml_text)) if remove_disks else []
    to_remove = [(path, volume) for path, volume, _ in plan if volume is not None]
    kept = [(path, reason) for path, _, reason in plan if reason]
    if test:
        notes = [f"would remove {path}" for path, _ in to_remove]
        notes += [f"would keep {path} ({reason})" for path, reason in kept]
        return result(conn, dom, host, "delete", False, "; ".join([f"would delete {name}", *notes]))
    dom.undefineFlags(domxml.undefine_flags(xml_text, remove_disks, _has_checkpoints(dom)))
    notes = remove_volumes(to_remove)
    notes += [f"kept {path} ({reason})" for path, reason in kept]
    return {
        "name": name,
        "host": host,
        "action": "delete",
        "changed": True,
        "comment": "; ".join([f"{name} was deleted", *notes]),
        "state": "deleted",
        "vm": None,
    }


def remove_volumes(to_remove):
    """Delete each (path, volume); the VM is gone already, so a failure is a note, not an error."""
    notes = []
    for path, volume in to_remove:
        try:
            volume.delete(0)
        except libvirt.libvirtError as err:
            notes.append(f"could not remove {path} ({libvirt_host.message(err)})")
        else:
            notes.append(f"removed {path}")
    return notes
