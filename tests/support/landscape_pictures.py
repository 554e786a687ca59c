"""
A worked landscape as ``brine.landscape.host_picture`` hands it to ``brine.landscape_xml``
(docs/landscape.md, The library's picture): plain dicts of that shape, written by hand, for the
XML's golden files and
the functional tests on libvirt's test driver.
"""

NETWORKS = {
    # NAT with everything: its bridge, an uplink, a domain, a range, static hosts, DNS hosts
    # (192.168.155.9 both an extra entry and a guest's; .9 sorts before .11 by address).
    "service": {
        "name": "service",
        "mode": "nat",
        "bridge": "virbr155",
        "domain": "svc.example.com",
        "subnet": "192.168.155.0/24",
        "gateway": "192.168.155.1",
        "dhcp": {"start": "192.168.155.100", "end": "192.168.155.199"},
        "dns_hosts": [
            {"ip": "192.168.155.1", "hostnames": ["gw", "ks"]},
            {"ip": "192.168.155.9", "hostnames": ["db"]},
        ],
        "forward_dev": "eth0",
        "autostart": True,
        "static_hosts": [
            {"mac": "52:54:00:1a:2b:09", "ip": "192.168.155.9", "name": "db-1", "guest": "db-1"},
            {"mac": "52:54:00:1a:2b:11", "ip": "192.168.155.11", "name": "web-1", "guest": "web-1"},
            {"mac": "52:54:00:1a:2b:12", "ip": "192.168.155.12", "name": "web-2", "guest": "web-2"},
        ],
        "dns_entries": [
            {"ip": "192.168.155.9", "hostnames": ["db-1.svc.example.com", "db-1"], "guest": "db-1"},
            {"ip": "192.168.155.11", "hostnames": ["web-1.svc.example.com", "web-1"], "guest": "web-1"},
            {"ip": "192.168.155.12", "hostnames": ["web-2.svc.example.com", "web-2"], "guest": "web-2"},
        ],
    },
    # Routed, static hosts only (no dynamic range), no domain.
    "backend": {
        "name": "backend",
        "mode": "route",
        "bridge": "virbr20",
        "domain": None,
        "subnet": "10.20.0.0/24",
        "gateway": "10.20.0.1",
        "dhcp": None,
        "dns_hosts": [],
        "forward_dev": None,
        "autostart": True,
        "static_hosts": [{"mac": "52:54:00:1a:2c:11", "ip": "10.20.0.11", "name": "web-1", "guest": "web-1"}],
        "dns_entries": [{"ip": "10.20.0.11", "hostnames": ["web-1-be"], "guest": "web-1"}],
    },
    # Isolated, libvirt's own bridge name, a range and nothing else.
    "storage": {
        "name": "storage",
        "mode": "isolated",
        "bridge": None,
        "domain": "storage.example.com",
        "subnet": "172.16.5.0/24",
        "gateway": "172.16.5.1",
        "dhcp": {"start": "172.16.5.50", "end": "172.16.5.99"},
        "dns_hosts": [],
        "forward_dev": None,
        "autostart": False,
        "static_hosts": [],
        "dns_entries": [],
    },
    # The host's own bridge.
    "lan": {
        "name": "lan",
        "mode": "bridge",
        "bridge": "br0",
        "domain": None,
        "subnet": None,
        "gateway": None,
        "dhcp": None,
        "dns_hosts": [],
        "forward_dev": None,
        "autostart": True,
        "static_hosts": [],
        "dns_entries": [],
    },
}

POOLS = {
    "images": {
        "name": "images",
        "type": "dir",
        "path": "/var/lib/libvirt/images/landscape",
        "source": None,
        "build": True,
        "autostart": True,
        "volumes": [{"name": "web-1-disk0.qcow2", "size_gib": 20, "format": "qcow2"}],
    },
    "shared": {
        "name": "shared",
        "type": "netfs",
        "path": "/srv/shared",
        "source": {"host": "nfs.example.com", "dir": "/export/vm", "format": "nfs"},
        "build": True,
        "autostart": True,
        "volumes": [],
    },
    "vmvg": {
        "name": "vmvg",
        "type": "logical",
        "path": "/dev/vmvg",
        "source": {"vg": "vmvg", "devices": ["/dev/sdb", "/dev/sdc"]},
        "build": True,
        "autostart": False,
        "volumes": [{"name": "db-1-data", "size_gib": 100, "format": "raw"}],
    },
}

GUESTS = {
    # Direct kernel boot, a pool volume and a file, a NIC on a network and one on a bridge
    # (its MAC left to libvirt).
    "web-1": {
        "name": "web-1",
        "host": "hv1",
        "group": "web",
        "hostname": "web-1",
        "fqdn": "web-1.svc.example.com",
        "description": "Web server 1 (front & back)",
        "memory": 2048,
        "vcpus": 2,
        "start": True,
        "autostart": True,
        "boot": {
            "kernel": "/var/lib/libvirt/boot/vmlinuz",
            "initrd": "/var/lib/libvirt/boot/initrd.img",
            "cmdline": "console=ttyS0 inst.ks=http://ks.svc.example.com/ks?host=web-1&os=alma9",
        },
        "interfaces": [
            {
                "network": "service",
                "bridge": None,
                "model": "virtio",
                "mac": "52:54:00:1a:2b:11",
                "ip": "192.168.155.11",
                "fqdn": "web-1.svc.example.com",
            },
            {"network": None, "bridge": "br0", "model": "e1000", "mac": None, "ip": None, "fqdn": None},
        ],
        "disks": [
            {
                "pool": "images",
                "vol": "web-1-disk0.qcow2",
                "path": None,
                "format": "qcow2",
                "size_gib": 20,
                "bus": "virtio",
                "cache": "none",
            },
            {
                "pool": None,
                "vol": None,
                "path": "/srv/data/web-1-data.img",
                "format": "raw",
                "size_gib": 50,
                "bus": "virtio",
                "cache": None,
            },
        ],
        "vars": {},
    },
    # Boots from disk; raw SATA disks with writeback cache: a pool volume and a block device.
    "db-1": {
        "name": "db-1",
        "host": "hv1",
        "group": "db",
        "hostname": "db-1",
        "fqdn": "db-1.svc.example.com",
        "description": None,
        "memory": 4096,
        "vcpus": 4,
        "start": False,
        "autostart": False,
        "boot": None,
        "interfaces": [
            {
                "network": "service",
                "bridge": None,
                "model": "virtio",
                "mac": "52:54:00:1a:2b:09",
                "ip": "192.168.155.9",
                "fqdn": "db-1.svc.example.com",
            }
        ],
        "disks": [
            {
                "pool": "images",
                "vol": "db-1-disk0.img",
                "path": None,
                "format": "raw",
                "size_gib": 40,
                "bus": "sata",
                "cache": "writeback",
            },
            {
                "pool": None,
                "vol": None,
                "path": "/dev/vmvg/db-1-data",
                "format": "raw",
                "size_gib": 100,
                "bus": "sata",
                "cache": "writeback",
            },
        ],
        "vars": {"role": "postgres"},
    },
}

DB1_UUID = "6f1c3a52-8d1e-4b7a-9c2f-0e5d4a3b2c11"
