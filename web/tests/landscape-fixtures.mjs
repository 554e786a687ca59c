// Answers of landscape.networks and landscape.pools (docs/landscape.md, "What the hosts have") and the perms of
// a viewer and an admin, shared by the landscape's tests.

export const NOW = 1_750_000_000; // unix seconds
export const GiB = 1024 ** 3;

/** A NAT network the landscape's pillar defines, with static hosts and a lease. */
export const SERVICE = Object.freeze({
  name: "service",
  active: true,
  autostart: true,
  persistent: true,
  managed: true,
  mode: "nat",
  bridge: "virbr10",
  domain: "service.example.com",
  subnet: "192.168.155.0/24",
  gateway: "192.168.155.1",
  dhcp: { start: "192.168.155.100", end: "192.168.155.200" },
  static_hosts: [
    { mac: "52:54:00:aa:bb:02", ip: "192.168.155.12", name: "web-2" },
    { mac: "52:54:00:AA:BB:01", ip: "192.168.155.11", name: "web-1" },
  ],
  dns_hosts: [{ ip: "192.168.155.1", hostnames: ["gw", "ks"] }],
  leases: [{ mac: "52:54:00:aa:bb:01", ip: "192.168.155.11", hostname: "web-1", expires: NOW + 42 * 60 }],
});

/** libvirt's own default network, not from the pillar, stopped. */
export const DEFAULT = Object.freeze({
  name: "default",
  active: false,
  autostart: false,
  persistent: true,
  managed: false,
  mode: "nat",
  bridge: "virbr0",
  domain: null,
  subnet: "192.168.122.0/24",
  gateway: "192.168.122.1",
  dhcp: null,
  static_hosts: [],
  dns_hosts: [],
  leases: [],
});

/** A directory pool with volumes, some used by VMs. */
export const IMAGES = Object.freeze({
  name: "images",
  type: "dir",
  active: true,
  autostart: true,
  persistent: true,
  managed: true,
  path: "/var/lib/libvirt/images",
  capacity: 50 * GiB,
  allocation: 12 * GiB,
  available: 38 * GiB,
  volumes: [
    { name: "web-1-disk0.qcow2", path: "/var/lib/libvirt/images/web-1-disk0.qcow2", format: "qcow2", capacity: 20 * GiB, allocation: 1.5 * GiB, users: ["web-1"] },
    { name: "shared.img", path: "/var/lib/libvirt/images/shared.img", format: "raw", capacity: 10 * GiB, allocation: 10 * GiB, users: ["web-2", "db-1"] },
    { name: "spare.qcow2", path: "/var/lib/libvirt/images/spare.qcow2", format: "qcow2", capacity: 512 * 1024 ** 2, allocation: 196608, users: [] },
  ],
});

/** An NFS pool that is not mounted: no sizes. */
export const BACKUP = Object.freeze({
  name: "backup",
  type: "netfs",
  active: false,
  autostart: false,
  persistent: true,
  managed: true,
  path: "/srv/backup",
  capacity: null,
  allocation: null,
  available: null,
  volumes: [],
});

const HV2_DOWN = { host: "hv2", answered: false, error: { code: "unreachable", message: "hv2 did not answer within 10 s" } };

export const networksAnswer = (networks = [SERVICE, DEFAULT]) => ({
  hosts: [{ host: "hv1", answered: true, error: null, networks }, { ...HV2_DOWN, networks: [] }],
});

export const poolsAnswer = (pools = [IMAGES, BACKUP]) => ({
  hosts: [{ host: "hv1", answered: true, error: null, pools }, { ...HV2_DOWN, pools: [] }],
});

/** A viewer as docs/landscape.md means it: reads the landscape, changes nothing. */
export const VIEWER = Object.freeze([
  { "@runner": ["cluster\\.inventory\\Z", "landscape\\.networks\\Z", "landscape\\.pools\\Z"] },
]);
/** An admin: every function of the cluster and landscape runners. */
export const ADMIN = Object.freeze([
  { "@runner": ["cluster\\.[a-z][a-z0-9_]*\\Z", "landscape\\.[a-z][a-z0-9_]*\\Z"] },
]);
/** A role from before the landscape: no landscape functions at all. */
export const OLD_VIEWER = Object.freeze([{ "@runner": ["cluster\\.inventory\\Z"] }]);
