"""
Reading libvirt's XML: domain definitions, host capabilities, and Brine's VM dict built from a
domain's XML and its ``getAllDomainStats`` record.

Sizes of memory are KiB (libvirt's unit), sizes of disks bytes (docs/api.md). Nothing here talks
to libvirtd; ``undefine_flags`` only reads the binding's constants.

:depends: libvirt-python (for ``undefine_flags`` only)
"""

from xml.etree import ElementTree

from brine import vocabulary

try:
    import libvirt
except ImportError:  # the pure readers work without it
    libvirt = None

# The namespace of Brine's install marker in a domain's <metadata> (brine.install).
INSTALL_NS = "https://brine.invalid/xmlns/install/1"
INSTALL_FIELDS = ("state", "progress", "step", "reason")
# The namespace of the landscape's mark in a domain's <metadata> (brine.landscape_xml): a domain the landscape
# defined carries ``<landscape:guest xmlns:landscape="..." group="..."/>``.
LANDSCAPE_NS = "https://brine.invalid/xmlns/landscape/1"

MEMORY_UNITS_IN_BYTES = {
    "b": 1,
    "bytes": 1,
    "kb": 1000,
    "k": 1024,
    "kib": 1024,
    "mb": 1000**2,
    "m": 1024**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "g": 1024**3,
    "gib": 1024**3,
    "tb": 1000**4,
    "t": 1024**4,
    "tib": 1024**4,
}


def int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def memory_kib(element):
    """KiB in a libvirt memory element (``<memory unit='MiB'>512</memory>``), or None."""
    if element is None or not (element.text or "").strip():
        return None
    unit = (element.get("unit") or "KiB").lower()
    factor = MEMORY_UNITS_IN_BYTES.get(unit, 1024)
    return int(element.text.strip()) * factor // 1024


def parse_disk(disk):
    """A ``<disk>`` element as the disk part of Brine's VM dict (sizes unknown yet)."""
    source = disk.find("source")
    path = None
    if source is not None and disk.get("type", "file") in ("file", "block", "dir"):
        path = source.get("file") or source.get("dev") or source.get("dir")
    target = disk.find("target")
    driver = disk.find("driver")
    return {
        "target": target.get("dev") if target is not None else None,
        "device": disk.get("device", "disk"),
        "path": path,
        "format": driver.get("type") if driver is not None else None,
        "capacity": None,
        "allocation": None,
    }


def disk_definition(disk):
    """
    A ``<disk>`` element as its definition says it: ``{kind, pool, volume, path, format, cache,
    bus, target}``, kind being the disk's type (file, block, volume, network, ...).
    """
    parsed = parse_disk(disk)
    source = disk.find("source")
    target = disk.find("target")
    driver = disk.find("driver")
    kind = disk.get("type", "file")
    volume_source = source is not None and kind == "volume"
    return {
        "kind": kind,
        "pool": source.get("pool") if volume_source else None,
        "volume": source.get("volume") if volume_source else None,
        "path": parsed["path"],
        "format": parsed["format"],
        "cache": driver.get("cache") if driver is not None else None,
        "bus": target.get("bus") if target is not None else None,
        "target": parsed["target"],
    }


def parse_nic(interface):
    """An ``<interface>`` element as the NIC part of Brine's VM dict (IP unknown yet)."""
    nic_type = interface.get("type")
    mac = interface.find("mac")
    source = interface.find("source")
    model = interface.find("model")
    network = bridge = None
    if source is not None:
        if nic_type == "network":
            network = source.get("network")
        if nic_type in ("network", "bridge"):
            # Running domains on a libvirt network carry the bridge in their live XML.
            bridge = source.get("bridge")
    return {
        "mac": mac.get("address").lower() if mac is not None and mac.get("address") else None,
        "type": nic_type,
        "network": network,
        "bridge": bridge,
        "model": model.get("type") if model is not None else None,
        "ip": None,
    }


def parse_graphics(graphics):
    """A ``<graphics>`` element as ``{type, port, listen}``."""
    listen = graphics.get("listen")
    if not listen:
        for element in graphics.findall("listen"):
            listen = element.get("address") or element.get("socket")
            if listen:
                break
    return {
        "type": graphics.get("type"),
        "port": int_or_none(graphics.get("port")),
        "listen": listen or None,
    }


def parse_install(root):
    """
    The ``<install>`` marker of a domain's ``<metadata>`` (``brine.install``) as a dict of its
    attributes (strings), or None when the domain carries none.
    """
    element = root.find(f"metadata/{{{INSTALL_NS}}}install")
    return dict(element.attrib) if element is not None else None


def parse_landscape(root):
    """
    The landscape's ``<guest>`` mark of a domain's ``<metadata>`` (``brine.landscape_xml``) as a dict of
    its attributes (strings), or None when the landscape did not define the domain.
    """
    element = root.find(f"metadata/{{{LANDSCAPE_NS}}}guest")
    return dict(element.attrib) if element is not None else None


def install_record(marker):
    """The ``install`` field of a VM dict: ``{state, progress, step, reason}`` or None."""
    if not marker:
        return None
    return {
        "state": marker.get("state"),
        "progress": int_or_none(marker.get("progress")),
        "step": marker.get("step"),
        "reason": marker.get("reason"),
    }


def parse_domain(xml_text):
    """
    A domain's XML (``XMLDesc``) as the parts of Brine's VM dict that the XML knows. State,
    CPU time, autostart, disk sizes and IPs come from elsewhere and are left out or null.
    """
    root = ElementTree.fromstring(xml_text)
    vcpu = root.find("vcpu")
    max_vcpus = int_or_none(vcpu.text) if vcpu is not None else None
    vcpus = int_or_none(vcpu.get("current")) if vcpu is not None else None
    max_memory = memory_kib(root.find("memory"))
    memory = memory_kib(root.find("currentMemory"))
    devices = root.find("devices")
    if devices is None:
        devices = ElementTree.Element("devices")
    return {
        "name": root.findtext("name"),
        "uuid": root.findtext("uuid"),
        "vcpus": vcpus if vcpus is not None else max_vcpus,
        "max_vcpus": max_vcpus,
        "memory": memory if memory is not None else max_memory,
        "max_memory": max_memory,
        "os_type": root.findtext("os/type"),
        "domain_type": root.get("type"),
        "disks": [parse_disk(disk) for disk in devices.findall("disk")],
        "nics": [parse_nic(interface) for interface in devices.findall("interface")],
        "graphics": [parse_graphics(graphics) for graphics in devices.findall("graphics")],
        "install": parse_install(root),
    }


def _sized_disks(disks, volume_sizes):
    sized = []
    for parsed in disks:
        disk = dict(parsed)
        if disk["path"] is not None:
            disk["capacity"], disk["allocation"] = volume_sizes.get(disk["path"], (None, None))
        sized.append(disk)
    return sized


def _addressed_nics(nics, ips, bridges, active):
    addressed = []
    for parsed in nics:
        nic = dict(parsed)
        if nic["bridge"] is None and nic["network"] is not None:
            nic["bridge"] = bridges.get(nic["network"])
        # A lease outlives the guest that took it: only a running VM has an address.
        nic["ip"] = ips.get(nic["mac"]) if active else None
        addressed.append(nic)
    return addressed


def build_vm(
    parsed,
    stats,
    autostart,
    persistent,
    volume_sizes=None,
    ips=None,
    bridges=None,
    cpu_time=None,
):
    """
    Brine's VM dict from a parsed domain XML and the domain's ``getAllDomainStats`` record
    (``state.state``, ``balloon.current``, ``vcpu.current``, ``cpu.time``, ...).

    ``volume_sizes`` maps disk path -> (capacity, allocation) in bytes; ``ips`` maps MAC -> IP;
    ``bridges`` maps libvirt network name -> bridge; ``cpu_time`` is used when the stats have
    no ``cpu.time`` (drivers without the cpu-total group).
    """
    state = vocabulary.state_name(stats.get("state.state"))
    active = vocabulary.is_active(state)
    memory = stats.get("balloon.current") if active else None
    max_memory = stats.get("balloon.maximum") if active else None
    return {
        "name": parsed["name"],
        "uuid": parsed["uuid"],
        "state": state,
        "reason": vocabulary.reason_name(state, stats.get("state.reason")),
        "vcpus": stats.get("vcpu.current", parsed["vcpus"]),
        "max_vcpus": stats.get("vcpu.maximum", parsed["max_vcpus"]),
        "memory": memory if memory is not None else parsed["memory"],
        "max_memory": max_memory if max_memory is not None else parsed["max_memory"],
        "cpu_time": (stats.get("cpu.time", cpu_time) or 0) if active else 0,
        "autostart": bool(autostart),
        "persistent": bool(persistent),
        "os_type": parsed["os_type"],
        "domain_type": parsed["domain_type"],
        "disks": _sized_disks(parsed["disks"], volume_sizes or {}),
        "nics": _addressed_nics(parsed["nics"], ips or {}, bridges or {}, active),
        "graphics": [dict(graphics) for graphics in parsed["graphics"]],
        "install": install_record(parsed.get("install")),
    }


def parse_capabilities(xml_text):
    """(cpu_model, cpu_arch) from the host part of ``getCapabilities()``; None when absent."""
    cpu = ElementTree.fromstring(xml_text).find("host/cpu")
    if cpu is None:
        return None, None
    model = " ".join(part for part in (cpu.findtext("vendor"), cpu.findtext("model")) if part)
    return model or None, cpu.findtext("arch")


def undefine_flags(xml_text, remove_disks, has_checkpoints=False):
    """
    Flags for ``undefineFlags`` of an inactive domain: managed save and snapshot metadata
    always go with the definition; UEFI variables and TPM state are the VM's storage, so they
    go only with ``remove_disks`` and are kept otherwise. Flags for things the domain does not
    have are left out, because some drivers reject flags they don't know.
    """
    flags = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    if has_checkpoints:
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
    root = ElementTree.fromstring(xml_text)
    if root.find("os/nvram") is not None:
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_NVRAM if remove_disks else libvirt.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM
    if root.find("devices/tpm/backend[@type='emulator']") is not None:
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_TPM if remove_disks else libvirt.VIR_DOMAIN_UNDEFINE_KEEP_TPM
    return flags


def disk_details(xml_text):
    """Per disk of a domain XML: target, device, path, source type, cache, read-only, shareable."""
    root = ElementTree.fromstring(xml_text)
    details = []
    for disk in root.findall("devices/disk"):
        defined = disk_definition(disk)
        details.append(
            {
                "target": defined["target"],
                "device": disk.get("device", "disk"),
                "path": defined["path"],
                "source_type": defined["kind"],
                "cache": defined["cache"],
                "readonly": disk.find("readonly") is not None,
                "shareable": disk.find("shareable") is not None,
            }
        )
    return details
