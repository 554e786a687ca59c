"""
The VM->host map the master keeps in its cache: which host held which VM at the last look.

Bank ``brine/inventory``, one key per host holding ``{"vms": [names], "updated": unix time}``.
The map is only a hint: when it misses or is stale, the runner asks the hosts where a VM is
and corrects it. Functions take the master cache (``salt.cache.factory(opts)``) as an argument.
"""

import time

BANK = "brine/inventory"


def read(cache):
    """``{host: [vm names]}`` as the cache holds it."""
    host_vms = {}
    for host in cache.list(BANK):
        data = cache.fetch(BANK, host) or {}
        host_vms[host] = list(data.get("vms", []))
    return host_vms


def write(cache, changed, now=None):
    """Store the hosts' VM lists in ``changed`` (``{host: [vm names]}``)."""
    now = time.time() if now is None else now
    for host, vms in changed.items():
        cache.store(BANK, host, {"vms": sorted(vms), "updated": now})


def elsewhere(names, host_vms, here):
    """``{name: [hosts]}``: for each VM of ``names`` the hosts other than ``here`` whose VM list
    (``{host: [vm names]}``) holds it, only where there is one."""
    found = {}
    for name in names:
        hosts = [host for host in holding(name, host_vms) if host != here]
        if hosts:
            found[name] = hosts
    return found


def holding(name, host_vms):
    """Sorted hosts whose VM list (``{host: [vm names]}``) contains ``name``."""
    return sorted(host for host, vms in host_vms.items() if name in vms)


def placed(host_vms, name, holders, unsure=()):
    """
    The ``{host: [vm names]}`` entries to rewrite so that the map says VM ``name`` is on
    ``holders`` and nowhere else; hosts in ``unsure`` (they could not say) keep what they had.
    """
    changed = {}
    for host in sorted(set(host_vms) | set(holders)):
        vms = host_vms.get(host, [])
        if host in holders and name not in vms:
            changed[host] = sorted([*vms, name])
        elif host not in holders and host not in unsure and name in vms:
            changed[host] = [vm for vm in vms if vm != name]
    return changed


def place(cache, name, holders, host_vms=None, unsure=()):
    """Correct the cached map so that VM ``name`` is on ``holders``; returns what changed."""
    host_vms = read(cache) if host_vms is None else host_vms
    changed = placed(host_vms, name, holders, unsure)
    write(cache, changed)
    host_vms.update(changed)
    return changed


def remember(cache, hosts):
    """
    Keep the map of an inventory (its ``hosts`` entries): reachable hosts get their VMs,
    unreachable hosts keep what was last seen, hosts no longer targeted go.
    """
    names = {host["name"] for host in hosts}
    for host in cache.list(BANK):
        if host not in names:
            cache.flush(BANK, host)
    write(cache, {host["name"]: [vm["name"] for vm in host["vms"]] for host in hosts if host["reachable"]})
