import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ApiError,
  ERROR_CODES,
  errorFromResult,
  errorFromText,
  errorSentence,
  hasCode,
  httpErrorSentence,
  parseErrorCode,
  runnerRefusal,
} from "../js/errors.js";

// What rest_cherrypy returns in return[0] when a runner raised (salt/client/mixins.py).
const RUNNER_TRACEBACK = `Exception occurred in runner cluster.start: Traceback (most recent call last):
  File "/opt/brine/.venv/lib/python3.11/site-packages/salt/client/mixins.py", line 387, in low
    data["return"] = func(*args, **kwargs)
                     ^^^^^^^^^^^^^^^^^^^^^
  File "/var/cache/salt/master/extmods/runners/cluster.py", line 212, in start
    return _act(name, "start", test=test)
  File "/var/cache/salt/master/extmods/runners/cluster.py", line 180, in _act
    raise CommandExecutionError(ret)
salt.exceptions.CommandExecutionError: lab-vm1 is already running
`;

const CHAINED = `Exception occurred in runner cluster.shutdown: Traceback (most recent call last):
  File "/x/cluster.py", line 10, in shutdown
    dom.shutdown()
libvirt.libvirtError: Requested operation is not valid: domain is not running

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/x/mixins.py", line 387, in low
    data["return"] = func(*args, **kwargs)
salt.exceptions.CommandExecutionError: lab-vm2 is not running: Requested operation is not valid: domain is not running
`;

describe("errorSentence", () => {
  test("keeps the last exception line of a runner traceback, without the class name", () => {
    assert.equal(errorSentence(RUNNER_TRACEBACK), "lab-vm1 is already running");
  });
  test("chained exceptions: the final one counts", () => {
    assert.equal(
      errorSentence(CHAINED),
      "lab-vm2 is not running: Requested operation is not valid: domain is not running",
    );
  });
  test("SaltInvocationError without the salt.exceptions prefix", () => {
    const text = 'Exception occurred in runner cluster.start: Traceback (most recent call last):\n  File "x", line 1\nSaltInvocationError: "../etc" is not a valid VM name\n';
    assert.equal(errorSentence(text), '"../etc" is not a valid VM name');
  });
  test("non-Salt exceptions keep their name, which is the information", () => {
    const text = "Exception occurred in runner cluster.inventory: Traceback (most recent call last):\n  File \"x\", line 1, in y\n    hosts['hv1']\nKeyError: 'hv1'\n";
    assert.equal(errorSentence(text), "KeyError: 'hv1'");
  });
  test("wrong arguments: the first line, not the docstring", () => {
    const text = "\nPassed invalid arguments: start() got an unexpected keyword argument 'nme'\n\nUsage:\n\n    Start a VM.\n\n    CLI Example: ...";
    assert.equal(errorSentence(text), "Passed invalid arguments: start() got an unexpected keyword argument 'nme'");
  });
  test("a plain sentence passes through, whitespace collapsed", () => {
    assert.equal(errorSentence("'cluster.migrate' is not available."), "'cluster.migrate' is not available.");
    assert.equal(errorSentence("  two\n  lines "), "two lines");
  });
  test("an exception message without traceback loses its wrapper", () => {
    assert.equal(
      errorSentence("Exception occurred in runner cluster.start: CommandExecutionError: no VM named x"),
      "no VM named x",
    );
  });
  test("empty or missing messages still give a sentence", () => {
    assert.match(errorSentence(""), /without a message/);
    assert.match(errorSentence(null), /without a message/);
  });
  test("very long texts are cut", () => {
    assert.ok(errorSentence("x".repeat(1000)).length <= 400);
  });
});

describe("httpErrorSentence", () => {
  test("CherryPy's HTML 401 page: status sentence plus its message", () => {
    const body = `<!DOCTYPE html><html><head><title>401 Unauthorized</title></head><body>
      <h2>401 Unauthorized</h2>
      <p>No permission -- see authorization schemes</p>
      <pre id="traceback"></pre></body></html>`;
    assert.equal(
      httpErrorSentence(401, "Unauthorized", body),
      "Salt did not accept your session: No permission -- see authorization schemes (HTTP 401).",
    );
  });
  test("generic CherryPy text adds nothing", () => {
    const body = "<h2>401 Unauthorized</h2><p>This server could not verify that you are authorized to access the document you requested.</p>";
    assert.equal(httpErrorSentence(401, "Unauthorized", body), "Salt did not accept your session (HTTP 401).");
  });
  test("rest_cherrypy's JSON 500 body", () => {
    const body = JSON.stringify({ status: 500, return: "An unexpected error occurred" });
    assert.equal(
      httpErrorSentence(500, "Internal Server Error", body),
      "salt-api hit an unexpected error: An unexpected error occurred (HTTP 500).",
    );
  });
  test("HTML entities are decoded", () => {
    assert.equal(
      httpErrorSentence(400, "Bad Request", "<p>name &quot;a&amp;b&quot; is invalid</p>"),
      'Salt rejected the request as invalid: name "a&b" is invalid (HTTP 400).',
    );
  });
  test("nginx's 502 when salt-api is down", () => {
    assert.equal(
      httpErrorSentence(502, "Bad Gateway", "<html><center><h1>502 Bad Gateway</h1></center></html>"),
      "salt-api is not reachable (HTTP 502).",
    );
  });
  test("an unlisted status still reads as a sentence", () => {
    assert.equal(httpErrorSentence(418, "I'm a teapot", ""), "salt-api answered 418 I'm a teapot (HTTP 418).");
  });
});

// Brine's errors read "[<code>] <sentence>" (_utils/brine/errors.py): code decides on the code.
const CODED_TRACEBACK = `Exception occurred in runner cluster.reboot: Traceback (most recent call last):
  File "/var/cache/salt/master/extmods/runners/cluster.py", line 212, in reboot
    raise Refused("not_running", message)
salt.exceptions.CommandExecutionError: [not_running] lab-vm3 is not running on hv1
`;

describe("error codes", () => {
  test("ERROR_CODES is a frozen list of distinct snake_case codes", () => {
    assert.ok(Object.isFrozen(ERROR_CODES));
    assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
    for (const code of ERROR_CODES) {
      assert.match(code, /^[a-z][a-z_]{1,39}$/);
    }
    for (const code of ["no_vm", "not_running", "unreachable", "no_migration", "internal"]) {
      assert.ok(ERROR_CODES.includes(code), code);
    }
  });
  test("the code of a runner traceback's last line, and the sentence after it", () => {
    assert.deepEqual(parseErrorCode(CODED_TRACEBACK), { code: "not_running", text: "lab-vm3 is not running on hv1" });
    assert.equal(errorSentence(CODED_TRACEBACK), "lab-vm3 is not running on hv1");
  });
  test("after Salt's ERROR: prefix", () => {
    const text = "ERROR: [no_vm] no VM named lab-vm9 on any reachable host";
    assert.deepEqual(parseErrorCode(text), { code: "no_vm", text: "no VM named lab-vm9 on any reachable host" });
    assert.equal(errorSentence(text), "no VM named lab-vm9 on any reachable host");
  });
  test("a code alone on a line; the last coded line wins", () => {
    const text = "[unreachable] hv2 did not answer\nsomething\n[timeout] hv1 did not finish in time\n";
    assert.deepEqual(parseErrorCode(text), { code: "timeout", text: "hv1 did not finish in time" });
  });
  test("no code, or an unknown one: null, and the sentence is as before", () => {
    assert.deepEqual(parseErrorCode("lab-vm1 is already running"), { code: null, text: "lab-vm1 is already running" });
    assert.equal(parseErrorCode("[not_a_code] x").code, null);
    assert.equal(errorSentence("[not_a_code] x"), "[not_a_code] x");
    assert.equal(parseErrorCode(null).code, null);
  });
  test("the sentence never keeps the [code] prefix", () => {
    for (const code of ERROR_CODES) {
      const sentence = errorSentence(`Exception occurred in runner cluster.x: CommandExecutionError: [${code}] it went wrong`);
      assert.equal(sentence, "it went wrong");
    }
  });
  test("ApiError carries the code (null when none); errorFromText builds one", () => {
    assert.equal(new ApiError("x").code, null);
    assert.equal(new ApiError("x", { code: "no_vm" }).code, "no_vm");
    assert.equal(new ApiError("x", { code: "made_up" }).code, null);
    const error = errorFromText(CODED_TRACEBACK, { status: 200, fun: "cluster.reboot" });
    assert.equal(error.code, "not_running");
    assert.equal(error.message, "lab-vm3 is not running on hv1");
    assert.equal(error.status, 200);
    assert.ok(hasCode(error, "not_running"));
    assert.ok(!hasCode(error, "no_vm"));
    assert.ok(!hasCode(null, "no_vm"));
  });
});

describe("a runner's structured refusal ({error: {code, message}})", () => {
  test("runnerRefusal reads exactly that shape and nothing else", () => {
    assert.deepEqual(runnerRefusal({ error: { code: "no_vm", message: "no VM named x" }, retcode: 1 }), {
      code: "no_vm",
      message: "no VM named x",
    });
    for (const other of [null, "text", [1], {}, { error: "text" }, { error: { code: 1, message: "x" } }, { error: { code: "no_vm" } }]) {
      assert.equal(runnerRefusal(other), null);
    }
  });

  test("errorFromResult builds an ApiError with the code and the message as it is", () => {
    const error = errorFromResult({ error: { code: "invalid_argument", message: "timeout must be at most 300 seconds, not 1e12" } }, { status: 200, fun: "cluster.inventory" });
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, "invalid_argument");
    assert.equal(error.message, "timeout must be at most 300 seconds, not 1e12");
    assert.equal(error.fun, "cluster.inventory");
    assert.ok(hasCode(error, "invalid_argument"));
    assert.equal(errorFromResult({ hosts: [] }), null);
  });
});
