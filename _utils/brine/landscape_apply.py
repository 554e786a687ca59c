"""
The landscape kept true on one host: a volume, a network and a guest brought to what the
picture says.

The ``landscape`` state module (``_states/landscape.py``) is the face: it passes a libvirt
connection and one object of the host's picture (``brine.landscape.host_picture``), and reports
what these functions return as a state's ``(result, changes, comment)``. Storage pools need none
of this: saltext-virt's ``virt.pool_running`` does that job (docs/landscape.md, Why saltext-virt
for pools).

A volume is created when absent, never resized or removed; a dry run before its pool exists
says it would be created (saltext-virt's ``virt.volume_defined`` fails there, which would fail a
fresh host's dry run).

A network's static DHCP hosts and DNS entries change live (``virNetworkUpdate``, the running
network keeps its dnsmasq and its guests); any other difference redefines the network's
persistent definition, which a running network takes when it is restarted, and says so. A guest
is redefined when the parts the landscape manages (``landscape_xml.managed_view``) differ, keeping its
uuid; a running guest takes the new definition at its next boot.

:depends: libvirt-python
"""

from xml.etree import ElementTree

from brine import landscape_inventory
from brine import landscape_xml
from brine import libvirt_host
from brine.errors import Refused

try:
    import libvirt
except ImportError:  # the unit tests of the pure parts run without it
    libvirt = None


class Outcome:
    """What a state reports: ``result`` (None under test when something would change),
    ``changes`` and the sentences of ``comment``."""

    def __init__(self, test):
        self.test = test
        self.result = True
        self.changes = {}
        self.notes = []

    def change(self, key, value, sentence):
        self.changes[key] = value
        self.notes.append(sentence)
        if self.test:
            self.result = None

    def note(self, sentence):
        self.notes.append(sentence)

    def comment(self, unchanged):
        return " ".join(self.notes) if self.notes else unchanged


# --------------------------------------------------------------------------
# Volumes
# --------------------------------------------------------------------------


def ensure_volume(conn, volume, test):
    """The volume ``volume`` (a plan entry) in its pool: created when absent, else left as it is."""
    out = Outcome(test)
    name, pool_name = volume["name"], volume["pool"]
    pool = landscape_inventory.find(conn, "pool", pool_name)
    if pool is None or not pool.isActive():
        if not test:
            raise Refused("no_pool", f"volume {name} cannot be made: pool {pool_name} is not running here")
        out.change("created", True, f"Volume {name} would be created in pool {pool_name} once it runs.")
        return out
    if _has_volume(pool, name):
        return out
    if not test:
        # Only now, and only for a real run: a pool on shared storage may hold a volume another
        # host made since this one last looked (a dry run or a diff never refreshes a pool).
        pool.refresh(0)
        if _has_volume(pool, name):
            return out
    size = f"{volume['size_gib']} GiB"
    out.change("created", size, f"Volume {name} ({size}, {volume['format']}) created in pool {pool_name}.")
    if not test:
        pool_type = ElementTree.fromstring(pool.XMLDesc(0)).get("type")
        pool.createXML(landscape_xml.volume_xml(volume, pool_type), 0)
    return out


def _has_volume(pool, name):
    try:
        pool.storageVolLookupByName(name)
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
            return False
        raise
    return True


# --------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------


def desired_hosts(net):
    """The static DHCP hosts and the DNS hosts the picture gives ``net``:
    ``({mac: entry}, {ip: sorted hostnames})``."""
    dhcp = {
        entry["mac"]: {"mac": entry["mac"], "ip": entry["ip"], "name": entry["name"]}
        for entry in net["static_hosts"]
    }
    dns = {}
    for entry in [*net["dns_hosts"], *net["dns_entries"]]:
        dns.setdefault(entry["ip"], set()).update(entry["hostnames"])
    return dhcp, {ip: sorted(names) for ip, names in dns.items()}


def current_hosts(described):
    """The same two maps from a network's dict as the host module describes it."""
    dhcp = {
        entry["mac"]: {"mac": entry["mac"], "ip": entry["ip"], "name": entry.get("name")}
        for entry in described["static_hosts"]
        if entry.get("mac")
    }
    dns = {entry["ip"]: sorted(entry["hostnames"]) for entry in described["dns_hosts"]}
    return dhcp, dns


STRUCTURE = ("mode", "domain", "subnet", "gateway", "dhcp", "forward_dev")


def structure_changes(net, described):
    """The fields other than hosts where the network on the host differs from the picture,
    as ``{field: (current, desired)}``. A bridge left to libvirt (None) is not compared."""
    # A bridge-mode network's domain only names its guests (fqdns): libvirt's XML has no place
    # for it there.
    fields = [f for f in STRUCTURE if not (f == "domain" and net["mode"] == "bridge")]
    changes = {
        field: (described.get(field), net[field]) for field in fields if described.get(field) != net[field]
    }
    if net["bridge"] and described.get("bridge") != net["bridge"]:
        changes["bridge"] = (described.get("bridge"), net["bridge"])
    return changes


def host_updates(net, described):
    """The live updates that bring the running network's hosts to the picture: a list of
    ``(command, section, xml, sentence)``, deletions first."""
    want_dhcp, want_dns = desired_hosts(net)
    have_dhcp, have_dns = current_hosts(described)
    updates = []
    for mac, entry in sorted(have_dhcp.items()):
        if want_dhcp.get(mac) != entry:
            sentence = f"static host {entry['ip']} ({mac}) removed"
            updates.append(("delete", "dhcp", landscape_xml.dhcp_host_xml(entry), sentence))
    for ip, names in sorted(have_dns.items()):
        if want_dns.get(ip) != names:
            updates.append(("delete", "dns", landscape_xml.dns_host_xml(ip, names), f"DNS host {ip} removed"))
    for mac, entry in sorted(want_dhcp.items()):
        if have_dhcp.get(mac) != entry:
            sentence = f"static host {entry['ip']} ({mac}, {entry['name']}) added"
            updates.append(("add", "dhcp", landscape_xml.dhcp_host_xml(entry), sentence))
    for ip, names in sorted(want_dns.items()):
        if have_dns.get(ip) != names:
            sentence = f"DNS host {ip} ({', '.join(names)}) added"
            updates.append(("add", "dns", landscape_xml.dns_host_xml(ip, names), sentence))
    return updates


def _apply_updates(network, updates, flag):
    commands = {
        "add": libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
        "delete": libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE,
    }
    sections = {"dhcp": libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST, "dns": libvirt.VIR_NETWORK_SECTION_DNS_HOST}
    for command, section, xml, _sentence in updates:
        network.update(commands[command], sections[section], -1, xml, flag)


def _persistent_xml(network):
    """The network's persistent definition; a driver that cannot tell it apart from the running
    one (libvirt's test driver refuses the flag) gives the running one."""
    try:
        return network.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError as err:
        if err.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
            raise
        return network.XMLDesc(0)


def _define_network(conn, net, uuid=None):
    return conn.networkDefineXML(landscape_xml.network_xml(net, uuid=uuid))


def _sentences(updates):
    return "; ".join(update[3] for update in updates)


def ensure_network(conn, net, describe, test):
    """
    Bring the network ``net`` (a picture entry) about on ``conn``: defined, its hosts updated
    live where it runs, autostarted as asked, started. ``describe(xml)`` reads a libvirt
    network's XML into the host module's dict (``brine.landscape_inventory``). Returns an Outcome.
    """
    out = Outcome(test)
    name = net["name"]
    network = landscape_inventory.find(conn, "network", name)
    if network is None:
        out.change("defined", True, f"Network {name} defined.")
        if not test:
            network = _define_network(conn, net)
    else:
        _update_network(conn, network, net, describe, out)
    if network is not None and bool(network.autostart()) != net["autostart"]:
        state = "on" if net["autostart"] else "off"
        out.change("autostart", net["autostart"], f"Network {name}'s autostart set {state}.")
        if not test:
            network.setAutostart(1 if net["autostart"] else 0)
    if network is None or not network.isActive():
        out.change("started", True, f"Network {name} started.")
        if not test:
            network.create()
    return out


def _update_network(conn, network, net, describe, out):
    """A defined network: its definition, then the running network's hosts, brought to ``net``."""
    name = net["name"]
    active = bool(network.isActive())
    persistent = describe(_persistent_xml(network))
    structure = structure_changes(net, persistent)
    if structure:
        fields = ", ".join(sorted(structure))
        detail = {field: {"old": old, "new": new} for field, (old, new) in structure.items()}
        out.change("redefined", detail, f"Network {name}'s {fields} changed in its definition.")
        if active:
            out.note("It is running: restart it to apply that (its guests lose their link meanwhile).")
        if not out.test:
            _define_network(conn, net, network.UUIDString())
    else:
        # The persistent definition's hosts (a redefinition above already carries them).
        updates = host_updates(net, persistent)
        if updates and not active:
            out.change("hosts", [u[3] for u in updates], f"Network {name}: {_sentences(updates)}.")
        if updates and not out.test:
            _apply_updates(network, updates, libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG)
    if active:
        updates = host_updates(net, describe(network.XMLDesc(0)))
        if updates:
            out.change(
                "hosts", [u[3] for u in updates], f"Network {name}: {_sentences(updates)} (live, no restart)."
            )
            if not out.test:
                _apply_updates(network, updates, libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE)


# --------------------------------------------------------------------------
# Guests
# --------------------------------------------------------------------------


def _domain_lookup(conn, name):
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as err:
        if libvirt_host.is_missing(err):
            return None
        raise


def missing_volumes(guest):
    """The pool volumes of ``guest`` (``with_volume_paths``) this host does not have: ``["pool/volume"]``."""
    return [f"{disk['pool']}/{disk['vol']}" for disk in guest["disks"] if disk["pool"] and not disk["path"]]


def with_volume_paths(conn, guest):
    """``guest`` with each pool disk whose volume exists given the volume's path on this host, so
    its definition names the file or device (as virt-install's ``--disk pool=`` does): a disk of
    type volume is one Brine's migrations cannot tell is on shared storage."""
    disks = []
    for disk in guest["disks"]:
        resolved = disk
        if disk["pool"] and not disk["path"]:
            try:
                path = conn.storagePoolLookupByName(disk["pool"]).storageVolLookupByName(disk["vol"]).path()
            except libvirt.libvirtError:
                path = None
            resolved = dict(disk, path=path)
        disks.append(resolved)
    return dict(guest, disks=disks)


def ensure_guest(conn, guest, domain_type, test):
    """
    Bring the guest ``guest`` (a picture entry) about on ``conn``: defined as the picture says
    (redefined, uuid kept, when a managed part differs), autostart as asked, started when it
    says ``start``. Under ``test`` the changes carry the diff of the managed parts. A guest not
    defined here that the master last saw on another host (``elsewhere``: migrated away) is left
    alone, and the comment says so.
    """
    out = Outcome(test)
    name = guest["name"]
    dom = _domain_lookup(conn, name)
    if dom is None and guest.get("elsewhere"):
        # Migrated away (or defined by hand elsewhere): a second definition here would share its
        # disks. The landscape's host is where it should be, not where it must be made again.
        hosts = ", ".join(guest["elsewhere"])
        out.note(
            f"Guest {name} is on {hosts} (where the master last saw it), not here: left alone. "
            f"Migrate it back to {guest['host']}, or set its host to {guest['elsewhere'][0]} "
            "in the landscape."
        )
        return out
    guest = with_volume_paths(conn, guest)
    if dom is None:
        missing = missing_volumes(guest)
        if missing and not test:
            raise Refused(
                "libvirt_error",
                f"{name} cannot be defined: its disk volumes {', '.join(missing)} are not there",
            )
        desired = landscape_xml.domain_xml(guest, domain_type)
        out.change(
            "diff", landscape_xml.view_diff({}, landscape_xml.managed_view(desired)), f"Guest {name} defined."
        )
        if not test:
            dom = conn.defineXML(desired)
    else:
        current = landscape_xml.managed_view(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        # A NIC the landscape gives no MAC keeps the one libvirt chose: redefining without it would
        # make libvirt choose another every time.
        guest = landscape_xml.with_current_macs(guest, current)
        desired = landscape_xml.domain_xml(guest, domain_type, uuid=dom.UUIDString())
        diff = landscape_xml.view_diff(current, landscape_xml.managed_view(desired))
        if diff:
            later = " It is running: the new definition applies from its next boot." if dom.isActive() else ""
            out.change("diff", diff, f"Guest {name}'s definition updated.{later}")
            if not test:
                dom = conn.defineXML(desired)
    if dom is not None and bool(dom.autostart()) != guest["autostart"]:
        out.change(
            "autostart",
            guest["autostart"],
            f"Guest {name}'s autostart set {'on' if guest['autostart'] else 'off'}.",
        )
        if not test:
            dom.setAutostart(1 if guest["autostart"] else 0)
    if guest["start"] and (dom is None or not dom.isActive()):
        out.change("started", True, f"Guest {name} started.")
        if not test:
            dom.create()
    return out


# --------------------------------------------------------------------------
# The host's plan (what the landscape formula renders) and its difference from the host
# --------------------------------------------------------------------------


def plan(picture, elsewhere=None):
    """
    The host's picture with what the formula renders: each pool's ``virt`` (the keyword
    arguments of saltext-virt's ``virt.pool_running``) and ``volumes``, every volume to make once
    (``[{"pool", "name", "size_gib", "format"}]``: the pools' own, then the guests' disks that
    give a size), and each guest's ``elsewhere``: the other hosts ``elsewhere`` (``{guest:
    [hosts]}``, where the master last saw it) names. A guest's ``vars`` (free data, unused by the
    states) become the list of their keys: their values never leave the pillar.
    """
    picture = dict(picture)
    elsewhere = elsewhere or {}
    picture["guests"] = {
        name: dict(
            guest,
            elsewhere=sorted(set(elsewhere.get(name) or []) - {picture["host"]}),
            # Kickstart data may hold secrets (a miniascape tree's root password, say), and the
            # plan travels in job returns a viewer can ask for (landscape.show): its keys only.
            vars=sorted(guest.get("vars") or {}),
        )
        for name, guest in picture["guests"].items()
    }
    picture["pools"] = {
        name: dict(pool, virt=landscape_xml.pool_state(pool)) for name, pool in picture["pools"].items()
    }
    volumes, seen = [], set()

    def add(pool_name, volume):
        if (pool_name, volume["name"]) not in seen:
            seen.add((pool_name, volume["name"]))
            volumes.append(
                {
                    "pool": pool_name,
                    "name": volume["name"],
                    "size_gib": volume["size_gib"],
                    "format": volume["format"],
                }
            )

    for name, pool in sorted(picture["pools"].items()):
        for volume in pool["volumes"]:
            add(name, volume)
    for _name, guest in sorted(picture["guests"].items()):
        for disk in guest["disks"]:
            if disk["pool"] and disk["size_gib"]:
                add(
                    disk["pool"],
                    {"name": disk["vol"], "size_gib": disk["size_gib"], "format": disk["format"]},
                )
    picture["volumes"] = volumes
    return picture


def with_current_permissions(conn, planned):
    """
    ``planned`` with each pool the host already has given, in its ``virt`` arguments, the
    permissions libvirt shows for its target: ``virt.pool_running`` compares them with its own
    definition, and the landscape does not manage them (a mounted NFS export shows the export's).
    """
    pools = dict(planned["pools"])
    for name, pool in planned["pools"].items():
        found = landscape_inventory.find(conn, "pool", name)
        element = (
            None if found is None else ElementTree.fromstring(found.XMLDesc(0)).find("target/permissions")
        )
        if element is not None:
            shown = {key: element.findtext(key) for key in ("mode", "owner", "group")}
            permissions = {key: value for key, value in shown.items() if value is not None}
            pools[name] = dict(pool, virt=dict(pool["virt"], permissions=permissions))
    return dict(planned, pools=pools)


def pool_differences(conn, pool, volumes):
    """What keeps the host's pool from being the landscape's ``pool`` with ``volumes`` (the plan's
    volumes in it): sentences, none when it is."""
    found = landscape_inventory.find(conn, "pool", pool["name"])
    if found is None:
        return [f"Pool {pool['name']} is not defined."]
    notes = []
    if not found.isActive():
        notes.append(f"Pool {pool['name']} is not running.")
    else:
        notes += [f"Volume {v['name']} is missing." for v in volumes if not _has_volume(found, v["name"])]
    if bool(found.autostart()) != pool["autostart"]:
        notes.append(f"Pool {pool['name']}'s autostart is {'off' if pool['autostart'] else 'on'}.")
    return notes


def differences(conn, planned, describe, domain_type):
    """
    Where the host differs from its plan, per object: ``{"networks": {name: {"changes",
    "comment"}}, "pools": {name: [sentences]}, "guests": {name: {"changes", "diff", "comment"}}}``,
    an object that is as the landscape says having no changes. Nothing is changed (the states'
    own logic, under test).
    """
    networks = {}
    for name, net in sorted(planned["networks"].items()):
        out = ensure_network(conn, net, describe, test=True)
        networks[name] = {"changes": out.changes, "comment": out.comment("")}
    pools = {
        name: pool_differences(conn, pool, [v for v in planned["volumes"] if v["pool"] == name])
        for name, pool in sorted(planned["pools"].items())
    }
    guests = {}
    for name, guest in sorted(planned["guests"].items()):
        out = ensure_guest(conn, guest, domain_type, test=True)
        guests[name] = {
            "changes": out.changes,
            "diff": out.changes.get("diff", ""),
            "comment": out.comment(""),
        }
    return {"networks": networks, "pools": pools, "guests": guests}
