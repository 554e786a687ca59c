"""
Bounds (issue 9, item 8): every timeout, bandwidth and downtime has an upper limit, in one
table (``brine.validate.LIMITS``), checked before anything starts by the runner and the host,
and mirrored in the web app (``web/js/limits.js``, compared here by running node).
"""

import json
import subprocess

import pytest

from brine import errors
from brine import fanout
from brine import migration_plan
from brine import validate
from brine import vnc
from support.paths import REPO
from support.saltfakes import cluster_runner
from support.saltfakes import use_client

WEB = REPO / "web"


def test_the_web_app_carries_the_same_table():
    script = (
        'import { LIMITS, UNITS } from "./js/limits.js";'
        "console.log(JSON.stringify({limits: LIMITS, units: UNITS}));"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=WEB, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == {"limits": validate.LIMITS, "units": validate.UNITS}


def test_the_console_ttl_limit_is_the_hosts():
    assert vnc.TTL_MAX == validate.LIMITS["console_ttl"]


@pytest.mark.parametrize("key", sorted(validate.LIMITS))
def test_at_most_takes_the_limit_and_refuses_one_more(key):
    limit = validate.LIMITS[key]
    assert validate.at_most(limit, key, key) == limit
    with pytest.raises(errors.Invalid, match=f"{key} must be at most {limit}") as caught:
        validate.at_most(limit + 1, key, key)
    assert caught.value.code == "invalid_argument"


@pytest.mark.parametrize("key", ["max_downtime", "bandwidth"])
@pytest.mark.parametrize("value", ["{limit1}", 2**64 + 1, "18446744073709551617", "9" * 400])
def test_migration_options_above_their_limit_are_refused(key, value):
    limit = validate.LIMITS[key]
    value = value.format(limit1=limit + 1) if isinstance(value, str) else value
    options = dict(live=True, max_downtime=None, bandwidth=None, copy_storage=False, autoconverge=False)
    options[key] = value
    with pytest.raises(errors.Invalid, match=f"{key} must"):
        migration_plan.options(**options, offline=False)
    options[key] = limit
    assert migration_plan.options(**options, offline=False)[key] == limit


@pytest.mark.parametrize("value", [301, 1e12, "999999999999"])
def test_inventory_timeouts_above_the_limit_are_refused(value):
    with pytest.raises(errors.Invalid, match="at most 300 seconds"):
        fanout.timeout(value)
    assert fanout.timeout(300) == 300


@pytest.fixture
def runner(tmp_path, monkeypatch):
    runner = cluster_runner(tmp_path, monkeypatch)
    runner.__context__ = {}
    return runner


def refusal(ret):
    assert set(ret) == {"error", "retcode"}, ret
    return ret["error"]["code"], ret["error"]["message"]


@pytest.mark.parametrize("timeout", [999999999999, 1e12, "301"])
def test_the_runner_refuses_a_huge_inventory_timeout_before_asking_anyone(runner, monkeypatch, timeout):
    client = use_client(monkeypatch, runner, {})
    code, message = refusal(runner.inventory(timeout=timeout))
    assert code == "invalid_argument" and "timeout must be at most 300 seconds" in message
    assert client.calls == []


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.shutdown("vm1", timeout=3601),
        lambda r: r.migrate("vm1", "hv2", bandwidth=2**64 + 1),
        lambda r: r.migrate("vm1", "hv2", max_downtime=60001),
        lambda r: r.migration_check("vm1", "hv2", bandwidth="100001"),
        lambda r: r.migration_check("vm1", "hv2", max_downtime=10**30),
    ],
)
def test_the_runner_refuses_numbers_above_the_limits_before_asking_anyone(runner, monkeypatch, call):
    client = use_client(monkeypatch, runner, {})
    monkeypatch.setattr(runner, "_hypervisor_hosts", lambda: ["hv1", "hv2"])
    code, message = refusal(call(runner))
    assert code == "invalid_argument" and "at most" in message
    assert client.calls == []


@pytest.mark.parametrize(
    "key,value,fun",
    [
        ("inventory", {"timeout": 100000}, "_timeout"),
        ("migration", {"timeout": 10**9}, "_migration_timeout"),
    ],
)
def test_configured_values_are_bounded_too(runner, monkeypatch, key, value, fun):
    monkeypatch.setitem(runner.__opts__, "brine", {key: value})
    with pytest.raises(errors.Invalid, match=f"brine:{key}:timeout must be at most"):
        getattr(runner, fun)()
