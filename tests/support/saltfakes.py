"""
Stand-ins for the Salt master around the ``cluster`` runner, shared by its unit tests: a
scripted LocalClient (which host is asked what, and how often), the master event bus it reads,
master options over a real master cache (localfs, in a temporary folder), and small factories
for the data hosts answer with.
"""

import copy
import time

import salt.cache
import salt.config

from brine import errors
from support import loading


def facts(**overrides):
    base = {
        "hostname": "hv",
        "cpus": 2,
        "vcpus_allocated": 1,
        "memory_total": 1000,
        "memory_free": 600,
        "memory_allocated": 128,
        "vm_count": 1,
        "vms_running": 1,
    }
    base.update(overrides)
    return base


def vm(name, state="running"):
    return {"name": name, "state": state, "vcpus": 1, "memory": 128}


def answer(ret, retcode=0):
    """One host's entry as LocalClient returns it."""
    return {"ret": ret, "retcode": retcode, "jid": "1"}


class ScriptedEvents:
    """The master event bus as the runner reads it: job returns queued by run_job."""

    def __init__(self):
        self.queue = []

    def get_event(self, wait, tag, match_type, full, auto_reconnect=False):
        assert (tag, match_type, full) == ("salt/job/1/ret/", "startswith", True)
        if self.queue:
            return self.queue.pop(0)
        time.sleep(min(wait, 0.05))  # a silent host: nothing arrives within the wait
        return None


class ScriptedClient:
    """
    Answers like LocalClient from a table ``{host: {fun: return}}``; a host missing from the
    table is down. A return may be a callable of the call's keyword arguments; a string is an
    error (retcode 1). ``hosts_expected`` are the hosts the master matches. Records every call
    made, ``("all", fun, kwarg)`` for a fan-out.
    """

    def __init__(self, hosts, expected=None):
        self.hosts = hosts
        self.hosts_expected = list(hosts) if expected is None else expected
        self.calls = []
        self.event = ScriptedEvents()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False

    def _entry(self, host, fun, kwarg):
        answers = self.hosts.get(host)
        if answers is None:
            return None
        ret = answers[fun]
        if callable(ret):
            ret = ret(**kwarg)
        is_error = isinstance(ret, str)
        return {"ret": ret, "retcode": 1 if is_error else 0, "jid": "1"}

    def run_job(self, tgt, fun, kwarg=None, tgt_type="glob", **kwargs):
        assert (tgt, tgt_type) == ("brine:roles:hypervisor", "pillar")
        self.calls.append(("all", fun, kwarg))
        for host in sorted(self.hosts_expected):
            entry = self._entry(host, fun, kwarg or {})
            if entry:
                self.event.queue.append(
                    {
                        "tag": f"salt/job/1/ret/{host}",
                        "data": {"id": host, "return": entry["ret"], "retcode": entry["retcode"]},
                    }
                )
        return {"jid": "1", "minions": sorted(self.hosts_expected)}

    def cmd(self, tgt, fun, kwarg=None, tgt_type="glob", timeout=None, full_return=False):
        assert tgt_type == "list" and len(tgt) == 1 and full_return
        host = tgt[0]
        self.calls.append((host, fun, kwarg))
        if host not in self.hosts_expected:
            return {}
        entry = self._entry(host, fun, kwarg)
        return {host: entry if entry else False}


def vm_info_on(*names, code="no_vm"):
    """A host's ``hypervisor.vm_info`` that knows ``names`` and refuses others with ``code``."""

    def vm_info(name):
        if name in names:
            return vm(name)
        return f"ERROR: [{code}] There is no VM named {name} on this host"

    return vm_info


def action_result(action, state):
    def run(name, **kwargs):
        return {"name": name, "action": action, "changed": True, "state": state, "vm": None}

    return run


def master_opts(tmp_path, **brine):
    """Master options over a master cache in ``tmp_path``; ``brine`` is the brine: config."""
    opts = copy.deepcopy(salt.config.DEFAULT_MASTER_OPTS)
    opts.update(
        cachedir=str(tmp_path),
        conf_file=str(tmp_path / "master"),
        sock_dir=str(tmp_path),
        brine=brine or {"inventory": {"timeout": 1}},
    )
    return opts


def cluster_runner(tmp_path, monkeypatch, **brine):
    """A fresh ``cluster`` runner module with its dunders set, as Salt's loader would."""
    runner = loading.load("_runners/cluster.py")
    monkeypatch.setattr(runner, "__opts__", master_opts(tmp_path, **brine), raising=False)
    monkeypatch.setattr(runner, "__pillar__", {}, raising=False)
    return runner


def master_cache(runner):
    return salt.cache.factory(runner.__opts__)


def use_client(monkeypatch, runner, hosts, expected=None):
    """Make ``runner`` talk to a ScriptedClient answering from ``hosts``; returns the client."""
    client = ScriptedClient(hosts, expected)
    monkeypatch.setattr(runner, "_local_client", lambda: client)
    return client


def cached_map(cache):
    """The VM->host map in the master cache, as ``{host: [vm names]}``."""
    return {host: cache.fetch("brine/inventory", host)["vms"] for host in cache.list("brine/inventory")}


def raised(ret):
    """
    Raise what a refused runner call returns (``{"error": {"code", "message"}, "retcode": 1}``,
    brine.face) as the coded error it stands for, so the tests keep asserting on code and
    sentence; a return that is not such a refusal, or one carrying a traceback, fails the test.
    """
    assert isinstance(ret, dict) and set(ret) == {"error", "retcode"} and ret["retcode"] == 1, ret
    code, message = ret["error"]["code"], ret["error"]["message"]
    assert "Traceback" not in message, message
    if code in ("invalid_argument", "no_host"):
        raise errors.Invalid(message, code=code)
    raise errors.Refused(code, message)
