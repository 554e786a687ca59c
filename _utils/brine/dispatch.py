"""
Running a function on the hypervisor host that holds a VM, found by the VM's name.

The master's VM->host map (``brine.hostmap``) is tried first; when it has no single host for
the name, or that host does not answer or answers with an error, every host is asked where the
VM is (one cheap ``hypervisor.vm_info`` each, not an inventory) and the map is corrected. The
caller passes its ``LocalClient`` and the master cache.
"""

from brine import fanout
from brine import hostmap


def locate(client, cache, host_vms, name, wait):
    """
    Ask every hypervisor host for ``name``, correct the cached map (and ``host_vms``), and
    return ``(host, vm dict)`` or raise Refused (``no_vm``, ``ambiguous_vm``).
    """
    expected, answers = fanout.gather(client, "hypervisor.vm_info", {"name": name}, wait)
    found, unsure = fanout.located(expected, answers, wait)
    hostmap.place(cache, name, found, host_vms, unsure)
    host = fanout.single_host(name, found, unsure)
    return host, found[host]


def run_on_vm(client, cache, name, fun, kwarg, timeout, wait):
    """
    Run ``fun`` for VM ``name`` on the host that holds it and return ``(host, its return)``,
    keeping the cached map right. ``timeout`` bounds a lookup, ``wait`` the call itself.

    When the VM turns out to be on the host already tried, that host's error stands (nothing
    is sent twice to one host); otherwise the call goes to the host that has it. A host's
    error is raised with its code and the host named (``fanout.host_exception``).
    """
    host_vms = hostmap.read(cache)
    cached = hostmap.holding(name, host_vms)
    tried = cached[0] if len(cached) == 1 else None
    ret, error = fanout.ask(client, tried, fun, kwarg, wait) if tried else (None, None)
    host = tried
    if error and error[0] == "invalid_argument":
        # A refused argument says nothing about where the VM is.
        raise fanout.host_exception(host, error)
    if tried is None or error:
        host, vm = locate(client, cache, host_vms, name, timeout)
        if host == tried:
            raise fanout.host_exception(host, error)
        if fun == "hypervisor.vm_info":
            return host, vm
        ret, error = fanout.ask(client, host, fun, kwarg, wait)
        if error:
            raise fanout.host_exception(host, error)
    deleted = fun == "hypervisor.delete" and ret.get("state") == "deleted"
    hostmap.place(cache, name, [] if deleted else [host], host_vms)
    return host, ret
