"""
Where a new VM goes (docs/provisioning.md): each candidate host says what it has and every
reason it cannot take the VM (``facts`` and ``problems``, on the host); the runner picks the
fitting host with the most memory left for VMs after its reserve (``choose``, pure), ties going
to the first host by name. When none fits, the refusal gives each host's reasons.

Memory and vCPU rules are the migration target's (``brine.migration_check``: running VMs'
memory plus ``brine:capacity:reserved_memory``; vCPUs up to ``brine:capacity:vcpu_ratio`` per
CPU), so a host that a migration may fill is the same host a create may fill.

:depends: libvirt-python (``facts`` only)
"""

from brine import libvirt_host
from brine import migration_check
from brine import validate
from brine.errors import Invalid
from brine.errors import Refused

try:
    import libvirt
except ImportError:
    libvirt = None

GIB = 1024**3
# What a new VM needs of its host (``problems``), as ``provision.capacity`` takes it.
NEEDS_FIELDS = ("name", "memory", "vcpus", "disk", "network", "pool")


def check_sizes_and_names(values, label):
    """The VM name, network, pool and sizes in ``values`` checked; ``Invalid`` naming ``label``."""
    validate.vm_name(values["name"])
    for field in ("network", "pool"):
        if not isinstance(values[field], str) or not validate.VM_NAME_RE.fullmatch(values[field]):
            raise Invalid(f"{label}'s {field} {values[field]!r} is not a valid name")
    for field, unit in (("memory", "MiB"), ("vcpus", "vCPUs"), ("disk", "GiB")):
        if validate.positive_int(values[field], field, unit) is None:
            raise Invalid(f"{label} needs {field}")


def check_needs(needs):
    """``needs`` if it is exactly ``NEEDS_FIELDS``, each valid; else ``Invalid``."""
    if not isinstance(needs, dict) or sorted(needs) != sorted(NEEDS_FIELDS):
        raise Invalid(f"needs must be a dict of exactly {', '.join(NEEDS_FIELDS)}")
    check_sizes_and_names(needs, "needs")
    return needs


def _pools(conn, name):
    """``{name: {active, available bytes}}`` of the one pool a create asks for (refreshed, so a
    shared folder's new files count); empty when the host has no such pool."""
    try:
        pool = conn.storagePoolLookupByName(name)
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
            return {}
        raise
    active = bool(pool.isActive())
    available = None
    if active:
        try:
            pool.refresh(0)
        except libvirt.libvirtError:
            pass
        available = pool.info()[3]
    return {name: {"active": active, "available": available}}


def _defined(conn, name):
    try:
        conn.lookupByName(name)
        return True
    except libvirt.libvirtError as err:
        if libvirt_host.is_missing(err):
            return False
        raise


def facts(conn, host, needs, reserved_memory, vcpu_ratio):
    """What this host has that ``problems`` weighs for a new VM of ``needs``."""
    return {
        **migration_check.capacity_facts(conn, host, reserved_memory, vcpu_ratio),
        "name_taken": _defined(conn, needs["name"]),
        "bridges": set(),
        "pools": _pools(conn, needs["pool"]),
    }


def free_memory(host_facts):
    """KiB left for VMs on the host after running VMs and the reserve (never below 0)."""
    used = host_facts["memory_allocated"] + host_facts["reserved_memory"]
    return max(0, host_facts["memory_total"] - used)


def _pool_problems(needs, host_facts):
    pool, host = needs["pool"], host_facts["host"]
    found = host_facts["pools"].get(pool)
    if found is None:
        return [{"code": "pool", "reason": f"storage pool {pool} is missing on {host}"}]
    if not found["active"]:
        return [{"code": "pool", "reason": f"storage pool {pool} is defined but not active on {host}"}]
    wanted = needs["disk"] * GIB
    if found["available"] is not None and found["available"] < wanted:
        return [
            {
                "code": "pool",
                "reason": f"storage pool {pool} on {host} has {found['available'] / GIB:.1f} GiB free; "
                f"{needs['name']} needs {needs['disk']} GiB",
            }
        ]
    return []


def problems(needs, host_facts):
    """
    Every reason this host cannot take a new VM of ``needs`` (``{name, memory (MiB), vcpus,
    disk (GiB), network, pool}``): a list of ``{code, reason}``, empty when it can.
    """
    if host_facts["name_taken"]:
        return [
            {
                "code": "name_taken",
                "reason": f"a VM named {needs['name']} is already defined on {host_facts['host']}",
            }
        ]
    vm_needs = {
        "name": needs["name"],
        "memory": needs["memory"] * 1024,
        "vcpus": needs["vcpus"],
        "networks": [needs["network"]],
        "bridges": [],
    }
    found = migration_check.capacity_problems(vm_needs, host_facts) + _pool_problems(needs, host_facts)
    return [{"code": p["code"], "reason": p["reason"]} for p in found]


def choose(name, answers, candidates):
    """
    The host for VM ``name``: ``answers`` maps every hypervisor host to what it said
    (``{free_memory, problems}``) or to ``{"error": sentence}`` when it did not answer;
    ``candidates`` are the hosts the placement allows. A VM of that name on any host refuses
    (``vm_exists``); no fitting candidate refuses (``no_room``) with each host's reasons.
    Returns ``(host, report)``, the report listing every candidate as the plan shows it.
    """
    taken = sorted(
        h for h, a in answers.items() if any(p["code"] == "name_taken" for p in a.get("problems", []))
    )
    if taken:
        raise Refused("vm_exists", f"a VM named {name} already exists on {', '.join(taken)}")
    report = []
    for host in sorted(candidates):
        answer = answers.get(host) or {"error": f"{host} did not answer"}
        if "error" in answer:
            report.append(
                {
                    "host": host,
                    "fits": False,
                    "free_memory": None,
                    "problems": [{"code": "unreachable", "reason": answer["error"]}],
                }
            )
            continue
        report.append(
            {
                "host": host,
                "fits": not answer["problems"],
                "free_memory": answer["free_memory"],
                "problems": answer["problems"],
            }
        )
    fitting = [r for r in report if r["fits"]]
    if not fitting:
        if not report:
            raise Refused("no_room", f"no hypervisor host matches the placement of {name}")
        why = "; ".join(f"{r['host']}: " + ", ".join(p["reason"] for p in r["problems"]) for r in report)
        raise Refused("no_room", f"no host can take {name}: {why}")
    best = min(fitting, key=lambda r: (-r["free_memory"], r["host"]))
    return best["host"], report
