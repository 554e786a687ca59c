// Migration in the UI, the pure parts: who sees it, what a host means as a drop target,
// the options sent to cluster.migrate, and how progress and results read.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { LIMITS } from "../js/limits.js";

import {
  defaultOptions,
  dropVerdict,
  mayAbort,
  mayMigrate,
  migrateKwargs,
  progressDetail,
  progressPercent,
  resultSentence,
} from "../js/migration.js";

// The perms lists salt-api returns at /login for the roles of master.d/brine-eauth.conf.
const VIEWER = [{ "@runner": ["cluster.inventory", "cluster.vm_info"] }];
const OPERATOR = [
  { "@runner": ["cluster.inventory", "cluster.vm_info", "cluster.start", "cluster.shutdown", "cluster.migrat.*"] },
];
const OPERATOR_WITHOUT_MIGRATION = [{ "@runner": ["cluster.inventory", "cluster.start"] }];
const ADMIN = [{ "@runner": ["cluster.*"] }];

describe("who sees migration", () => {
  test("operators (cluster.migrat.*) and admins do, viewers and plain operators do not", () => {
    assert.equal(mayMigrate(OPERATOR, "lab-vm1"), true);
    assert.equal(mayMigrate(ADMIN, "lab-vm1"), true);
    assert.equal(mayMigrate(VIEWER, "lab-vm1"), false);
    assert.equal(mayMigrate(OPERATOR_WITHOUT_MIGRATION, "lab-vm1"), false);
    assert.equal(mayMigrate([], "lab-vm1"), false);
  });

  test("migrating needs the targets check too; abort is its own permission", () => {
    assert.equal(mayMigrate([{ "@runner": ["cluster.migrate"] }], "v"), false);
    assert.equal(mayAbort(OPERATOR, "v"), true);
    assert.equal(mayAbort([{ "@runner": ["cluster.migrate", "cluster.migration_targets"] }], "v"), false);
  });
});

describe("dropVerdict: a host card during a drag", () => {
  const targets = {
    hv1: { eligible: false, reasons: ["lab-vm1 already runs on hv1."], offers: [] },
    hv2: { eligible: true, reasons: [], offers: [] },
    hv3: {
      eligible: false,
      reasons: ["hv3 has 64 MiB free, lab-vm1 needs 128 MiB.", "Network lab does not exist on hv3."],
      offers: [],
    },
    hv4: { eligible: true, reasons: [], offers: ["copy_storage"] },
  };

  test("checking while the answer is on its way", () => {
    const verdict = dropVerdict(null, "hv2", "lab-vm1");
    assert.equal(verdict.status, "checking");
    assert.match(verdict.summary, /Checking whether hv2 can take lab-vm1/);
  });

  test("eligible: a drop target, with a short sentence", () => {
    const verdict = dropVerdict(targets, "hv2", "lab-vm1");
    assert.equal(verdict.status, "eligible");
    assert.equal(verdict.summary, "hv2 can take lab-vm1.");
  });

  test("ineligible: every reason, in the cluster's words", () => {
    const verdict = dropVerdict(targets, "hv3", "lab-vm1");
    assert.equal(verdict.status, "ineligible");
    assert.deepEqual(verdict.reasons, targets.hv3.reasons);
    assert.equal(
      verdict.summary,
      "hv3 cannot take lab-vm1: hv3 has 64 MiB free, lab-vm1 needs 128 MiB; Network lab does not exist on hv3.",
    );
    assert.equal(dropVerdict(targets, "hv1", "lab-vm1").reasons[0], "lab-vm1 already runs on hv1.");
  });

  test("offers show in the sentence and preset the dialog", () => {
    const verdict = dropVerdict(targets, "hv4", "lab-vm1");
    assert.match(verdict.summary, /disks are copied/);
    assert.equal(defaultOptions({ state: "running" }, verdict).copy_storage, true);
  });

  test("not as things are, but with an offered option: a drop target that says what it takes", () => {
    const answer = {
      hv2: { eligible: false, reasons: ["lab-vm3 is not running."], offers: ["offline"] },
      hv5: { eligible: false, reasons: ["Disk vda is on storage hv5 cannot reach."], offers: ["copy_storage"] },
    };
    const offline = dropVerdict(answer, "hv2", "lab-vm3");
    assert.equal(offline.status, "offer");
    assert.equal(offline.summary, "hv2 can take lab-vm3 only with an offline migration (the VM is not running: its definition moves): lab-vm3 is not running.");
    assert.equal(defaultOptions({ state: "shutoff" }, offline).offline, true);
    const copy = dropVerdict(answer, "hv5", "lab-vm3");
    assert.match(copy.summary, /only with a copy of its disks/);
    assert.equal(defaultOptions({ state: "running" }, copy).copy_storage, true);
  });

  test("a host missing from the answer, or a failed check, is not a target and says why", () => {
    assert.equal(dropVerdict(targets, "hv9", "lab-vm1").status, "ineligible");
    assert.match(dropVerdict(targets, "hv9", "lab-vm1").summary, /did not say/);
    const failed = dropVerdict(new Error("salt-api is not reachable."), "hv2", "lab-vm1");
    assert.equal(failed.status, "ineligible");
    assert.match(failed.summary, /could not check the hosts: salt-api is not reachable/);
  });

  test("an ineligible answer without reasons still says something", () => {
    const verdict = dropVerdict({ hv2: { eligible: false } }, "hv2", "v");
    assert.deepEqual(verdict.reasons, ["The cluster refused it without a reason."]);
  });
});

describe("the options sent to cluster.migrate", () => {
  test("a running VM moves live by default; one that is not running moves offline", () => {
    assert.deepEqual(defaultOptions({ state: "running" }), {
      live: true, offline: false, copy_storage: false, autoconverge: false, max_downtime: "", bandwidth: "",
    });
    assert.equal(defaultOptions({ state: "paused" }).live, true);
    assert.equal(defaultOptions({ state: "shutoff" }).offline, true);
    assert.equal(defaultOptions({ state: "shutoff" }).live, false);
  });

  test("empty numbers are libvirt's defaults and are not sent", () => {
    assert.deepEqual(migrateKwargs({ live: true, max_downtime: "", bandwidth: " " }), {
      kwargs: { live: true, copy_storage: false, autoconverge: false },
    });
  });

  test("numbers, autoconverge and storage copy go through", () => {
    assert.deepEqual(
      migrateKwargs({ live: true, max_downtime: "100", bandwidth: "32", autoconverge: true, copy_storage: true }).kwargs,
      { live: true, copy_storage: true, autoconverge: true, max_downtime: 100, bandwidth: 32 },
    );
  });

  test("offline is never live", () => {
    assert.deepEqual(migrateKwargs({ live: true, offline: true }).kwargs, {
      live: false, offline: true, copy_storage: false, autoconverge: false,
    });
  });

  test("bad numbers are refused with a sentence", () => {
    assert.match(migrateKwargs({ max_downtime: "-5" }).error, /Maximum downtime must be a whole number/);
    assert.match(migrateKwargs({ bandwidth: "1.5" }).error, /Bandwidth must be a whole number of MiB\/s/);
    assert.match(migrateKwargs({ bandwidth: "0" }).error, /above 0/);
  });

  test("numbers above Brine's limits are refused before anything is sent (limits.js)", () => {
    assert.match(migrateKwargs({ bandwidth: String(LIMITS.bandwidth + 1) }).error, /Bandwidth must be at most 100000 MiB\/s/);
    // Above 2^64: Number() would round it; the check reads the digits.
    assert.match(migrateKwargs({ bandwidth: "18446744073709551617" }).error, /at most/);
    assert.match(migrateKwargs({ bandwidth: "9".repeat(400) }).error, /at most/);
    assert.match(migrateKwargs({ max_downtime: String(LIMITS.max_downtime + 1) }).error, /Maximum downtime must be at most 60000 milliseconds/);
    assert.equal(migrateKwargs({ bandwidth: String(LIMITS.bandwidth), max_downtime: "0060000" }).kwargs.bandwidth, LIMITS.bandwidth);
    assert.equal(migrateKwargs({ max_downtime: "0060000" }).kwargs.max_downtime, 60000);
  });
});

describe("progress and result", () => {
  const record = { vm: "lab-vm1", source: "hv1", target: "hv2" };

  test("the bar: unknown (indeterminate) before the first progress event, clamped, full when done", () => {
    assert.equal(progressPercent({ ...record, phase: "starting", percent: null }), null);
    assert.equal(progressPercent({ ...record, phase: "running", percent: 42.4 }), 42);
    assert.equal(progressPercent({ ...record, phase: "running", percent: 140 }), 100);
    assert.equal(progressPercent({ ...record, phase: "done" }), 100);
  });

  test("the line under the bar", () => {
    assert.equal(progressDetail({ ...record, phase: "starting" }), "Asking the source host to start…");
    assert.equal(
      progressDetail({ ...record, phase: "running", percent: 0, data_total: 0, data_remaining: 0, elapsed: 0.6 }),
      "Preparing the copy… · 0.6 s",
    );
    assert.equal(
      progressDetail({
        ...record, phase: "running", percent: 50, data_total: 128 * 1024 * 1024, data_remaining: 64 * 1024 * 1024, dirty_rate: 1048576, expected_downtime: 30, elapsed: 1.25,
      }),
      "50% · 64 MiB left · dirtying 1 MiB/s · expected downtime 30 ms · 1.3 s",
    );
  });

  test("done: total time and downtime", () => {
    assert.equal(
      resultSentence({ ...record, phase: "done", total_time: 2.34, downtime: 45.2 }),
      "lab-vm1 now runs on hv2: moved in 2.3 s, downtime 45 ms.",
    );
  });

  test("failed and aborted: the host's sentence as a sentence, or ours with where the VM stays", () => {
    assert.equal(
      resultSentence({ ...record, phase: "failed", error: "the migration of lab-vm1 to hv2 failed: hv2 went away; lab-vm1 is still running on hv1" }),
      "The migration of lab-vm1 to hv2 failed: hv2 went away; lab-vm1 is still running on hv1.",
    );
    assert.equal(
      resultSentence({ ...record, phase: "failed", aborted: true }),
      "Migration of lab-vm1 to hv2 was aborted. lab-vm1 stays on hv1.",
    );
    assert.equal(resultSentence({ ...record, phase: "failed" }), "Migration of lab-vm1 to hv2 failed. lab-vm1 stays on hv1.");
    assert.equal(resultSentence({ ...record, phase: "running" }), "");
  });
});
