import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  formatBytes,
  formatCpuTime,
  formatDomainType,
  formatKiB,
  formatMhz,
  formatPort,
  formatTopology,
  formatYesNo,
  naturalCompare,
  sentenceCase,
  stateInfo,
  usage,
} from "../js/format.js";

describe("formatKiB (libvirt memory)", () => {
  const cases = [
    [131072, "128 MiB"],
    [25165824, "24 GiB"],
    [393216, "384 MiB"],
    [20000000, "19.1 GiB"],
    [1572864, "1.5 GiB"],
    [512, "512 KiB"],
    [0, "0 MiB"],
    [1048575, "1 GiB"], // 1023.999 MiB rounds up into the next unit, not "1024 MiB"
    [50331648, "48 GiB"],
  ];
  for (const [kib, expected] of cases) {
    test(`${kib} KiB -> ${expected}`, () => assert.equal(formatKiB(kib), expected));
  }
  test("missing values show a dash", () => {
    assert.equal(formatKiB(null), "—");
    assert.equal(formatKiB(undefined), "—");
    assert.equal(formatKiB("n/a"), "—");
  });
});

describe("formatBytes (disk sizes)", () => {
  test("binary units", () => {
    assert.equal(formatBytes(67108864), "64 MiB");
    assert.equal(formatBytes(200704), "196 KiB");
    assert.equal(formatBytes(1023), "1023 B");
    assert.equal(formatBytes(10 * 1024 ** 4), "10 TiB");
  });
  test("null capacity (unknown) is a dash", () => assert.equal(formatBytes(null), "—"));
});

describe("formatCpuTime (ns)", () => {
  const cases = [
    [0, "0 s"],
    [50_000_000, "< 0.1 s"],
    [1_500_000_000, "1.5 s"],
    [42e9, "42 s"],
    [125e9, "2m 5s"],
    [3723e9, "1h 2m 3s"],
    [3600e9, "1h 0m 0s"],
    [2 * 86400e9 + 3 * 3600e9 + 4 * 60e9 + 5e9, "2d 3h 4m"],
  ];
  for (const [ns, expected] of cases) {
    test(`${ns} ns -> ${expected}`, () => assert.equal(formatCpuTime(ns), expected));
  }
  test("missing or negative is a dash", () => {
    assert.equal(formatCpuTime(null), "—");
    assert.equal(formatCpuTime(-1), "—");
  });
});

describe("usage (capacity bars)", () => {
  test("normal allocation", () => {
    assert.deepEqual(usage(393216, 25165824), { fraction: 393216 / 25165824, percent: 2, over: false });
  });
  test("overcommitted vCPUs fill the bar and say so", () => {
    assert.deepEqual(usage(3, 2), { fraction: 1, percent: 150, over: true });
  });
  test("zero or unknown total does not divide by zero", () => {
    assert.deepEqual(usage(0, 0), { fraction: 0, percent: null, over: false });
    assert.deepEqual(usage(2, null), { fraction: 1, percent: null, over: true });
  });
});

describe("stateInfo (badges)", () => {
  test("every libvirt state from docs/api.md has a label and a tone", () => {
    for (const state of ["running", "blocked", "paused", "shutdown", "shutoff", "crashed", "pmsuspended", "nostate"]) {
      const info = stateInfo(state);
      assert.ok(info.label && info.label !== state, state);
      assert.match(info.tone, /^(ok|warn|info|off|danger)$/);
    }
  });
  test("shutdown means shutting down, not shut off", () => {
    assert.equal(stateInfo("shutdown").label, "Shutting down");
    assert.equal(stateInfo("shutoff").label, "Shut off");
  });
  test("running is ok, crashed is danger", () => {
    assert.equal(stateInfo("running").tone, "ok");
    assert.equal(stateInfo("crashed").tone, "danger");
  });
  test("an unknown state keeps its name", () => {
    assert.deepEqual(stateInfo("migrating"), { label: "migrating", tone: "off" });
  });
});

describe("small formatters", () => {
  test("formatMhz", () => {
    assert.equal(formatMhz(2400), "2.4 GHz");
    assert.equal(formatMhz(2450), "2.45 GHz");
    assert.equal(formatMhz(800), "800 MHz");
    assert.equal(formatMhz(0), "—");
  });
  test("formatTopology pluralises", () => {
    assert.equal(formatTopology(1, 2, 1), "1 socket × 2 cores × 1 thread");
    assert.equal(formatTopology(2, 8, 2), "2 sockets × 8 cores × 2 threads");
  });
  test("formatYesNo", () => {
    assert.equal(formatYesNo(true), "Yes");
    assert.equal(formatYesNo(false), "No");
    assert.equal(formatYesNo(null), "—");
  });
  test("formatPort: null and -1 mean not assigned", () => {
    assert.equal(formatPort(5900), "5900");
    assert.equal(formatPort(-1), "not assigned");
    assert.equal(formatPort(null), "not assigned");
  });
  test("formatDomainType explains TCG", () => {
    assert.match(formatDomainType("qemu"), /TCG/);
    assert.match(formatDomainType("kvm"), /hardware/);
  });
  test("sentenceCase", () => {
    assert.equal(sentenceCase("did not answer within 10 s"), "Did not answer within 10 s");
    assert.equal(sentenceCase(null), "");
  });
  test("naturalCompare sorts vm2 before vm10", () => {
    assert.deepEqual(["vm10", "vm2", "vm1"].sort(naturalCompare), ["vm1", "vm2", "vm10"]);
  });
});
