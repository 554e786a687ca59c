// Containers as cluster.inventory carries them (docs/containers.md, Shapes), the answers of
// containers.images and containers.registry, and the perms of Brine's three roles for the
// containers runner (master.d/brine-eauth.conf), shared by the containers' tests.

export const NOW = 1_796_010_000; // unix seconds

/** A web server run from the registry's image, port 8080 published on every address. */
export const WEB1 = Object.freeze({
  name: "web1",
  id: "5d71c7be79d6",
  image: "brine-master:5000/brine/web:1",
  image_id: "1ffb213e8dbb",
  state: "running",
  status: "Up 2 minutes",
  ports: [
    { host_port: 8080, container_port: 80, protocol: "tcp", bind: "0.0.0.0" },
    { host_port: 5353, container_port: 53, protocol: "udp", bind: "127.0.0.1" },
  ],
  created: NOW - 125,
  restart: "unless-stopped",
  exit_code: null,
  command: "/bin/httpd -f -p 80",
  managed: true,
});

/** One that ran and stopped. */
export const HELLO = Object.freeze({
  name: "hello-1a2b",
  id: "9a8b7c6d5e4f",
  image: "brine-master:5000/brine/hello:1",
  image_id: "2aa0ff6b7c1d",
  state: "exited",
  status: "Exited (0) 3 hours ago",
  ports: [],
  created: NOW - 4 * 3600,
  restart: "no",
  exit_code: 0,
  command: "/bin/hello",
  managed: false,
});

/** One paused. */
export const PAUSED = Object.freeze({
  ...WEB1,
  name: "cache",
  id: "0c0c0c0c0c0c",
  state: "paused",
  status: "Up 1 hour (Paused)",
  ports: [{ host_port: 6379, container_port: 6379, protocol: "tcp", bind: "::1" }],
  created: NOW - 3 * 86400,
  restart: "no",
  managed: false,
});

const facts = { cpus: 4, memory_total: 8388608, memory_free: 4194304, vm_count: 0, vms_running: 0, vcpus_allocated: 0, memory_allocated: 0 };
const up = { state: "up", version: "20.10.24+dfsg1", message: null };

/**
 * cluster.inventory with one host of each kind: hv1 (engine up, two containers), hv2 (engine
 * up, one), hv3 (no engine), hv4 (an engine that does not answer), hv5 (did not answer).
 */
export function inventory() {
  return {
    hosts: [
      { name: "hv1", reachable: true, error: null, facts, vms: [], docker: up, containers: [WEB1, HELLO] },
      { name: "hv2", reachable: true, error: null, facts, vms: [], docker: up, containers: [PAUSED] },
      { name: "hv3", reachable: true, error: null, facts, vms: [], docker: { state: "none", version: null, message: null }, containers: [] },
      { name: "hv4", reachable: true, error: null, facts, vms: [], docker: { state: "down", version: null, message: "Cannot connect to the Docker daemon." }, containers: [] },
      { name: "hv5", reachable: false, error: "hv5 did not answer within 10 s", facts: null, vms: [] },
    ],
    totals: { hosts: 5, hosts_reachable: 4, containers_total: 3, containers_running: 1 },
  };
}

/** containers.images: web:1 on two hosts, hello:1 on one, hv5 silent. */
export const IMAGES_ANSWER = Object.freeze({
  images: [
    { id: "2aa0ff6b7c1d", tags: ["brine-master:5000/brine/hello:1"], ref: "brine-master:5000/brine/hello:1", created: NOW - 86400, size: 1_400_000, hosts: ["hv1"] },
    { id: "1ffb213e8dbb", tags: ["brine-master:5000/brine/web:1", "brine/web:latest"], ref: "brine-master:5000/brine/web:1", created: NOW - 2 * 86400, size: 4_400_000, hosts: ["hv2", "hv1"] },
  ],
  hosts: [
    { host: "hv1", answered: true, error: null },
    { host: "hv2", answered: true, error: null },
    { host: "hv5", answered: false, error: { code: "unreachable", message: "hv5 did not answer within 10 s" } },
  ],
});

/** containers.registry */
export const REGISTRY_ANSWER = Object.freeze({
  registry: "brine-master:5000",
  images: [
    { ref: "brine-master:5000/brine/hello:1", repository: "brine/hello", tag: "1" },
    { ref: "brine-master:5000/brine/web:1", repository: "brine/web", tag: "1" },
  ],
  error: null,
});

/** The roles as master.d/brine-eauth.conf gives them the containers runner. */
export const VIEWER = Object.freeze([
  { "@runner": ["cluster\\.inventory\\Z", "provision\\.sealing_key\\Z", "containers\\.list\\Z", "containers\\.images\\Z", "containers\\.registry\\Z"] },
]);
export const OPERATOR = Object.freeze([
  {
    "@runner": [
      "cluster\\.inventory\\Z",
      "provision\\.sealing_key\\Z",
      ...["list", "images", "registry", "run", "start", "stop", "restart", "pause", "unpause", "logs"].map((fun) => `containers\\.${fun}\\Z`),
    ],
  },
]);
export const ADMIN = Object.freeze([{ "@runner": ["cluster\\.[a-z][a-z0-9_]*\\Z", "provision\\.[a-z][a-z0-9_]*\\Z", "containers\\.[a-z][a-z0-9_]*\\Z"] }]);
/** A role from before containers: none of its functions. */
export const OLD_VIEWER = Object.freeze([{ "@runner": ["cluster\\.inventory\\Z"] }]);
