// @ts-check
// The most each number Brine takes may be: a copy of Python's brine.validate.LIMITS
// (_utils/brine/validate.py; tests/unit/test_limits.py runs node and proves the two equal).
// The browser checks these before it sends anything, so a number the runner would refuse
// never leaves the dialog.

/** @type {Readonly<Record<string, number>>} */
export const LIMITS = Object.freeze({
  inventory_timeout: 300,
  shutdown_timeout: 3600,
  migration_timeout: 86400,
  max_downtime: 60000,
  bandwidth: 100000,
  console_ttl: 300,
  memory: 1048576,
  vcpus: 256,
  disk: 65536,
});

/** What each limit counts. @type {Readonly<Record<string, string>>} */
export const UNITS = Object.freeze({
  inventory_timeout: "seconds",
  shutdown_timeout: "seconds",
  migration_timeout: "seconds",
  max_downtime: "milliseconds",
  bandwidth: "MiB/s",
  console_ttl: "seconds",
  memory: "MiB",
  vcpus: "vCPUs",
  disk: "GiB",
});
