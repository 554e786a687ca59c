"""
The runner face (brine.face) on every public function of the ``cluster`` runner: whatever the
arguments, a refusal comes back as ``{"error": {"code", "message"}, "retcode": 1}`` with no
traceback and no docstring, and Salt sees ``(*args, **kwargs)`` with the docstring kept.
"""

import inspect
import logging

import pytest

from brine import errors
from brine import face
from support.saltfakes import cluster_runner
from support.saltfakes import use_client

PUBLIC = [
    *("inventory", "vm_info", "start", "shutdown", "force_off", "reboot", "pause", "resume", "delete"),
    *("console", "migration_targets", "migration_check", "migrate", "migration_abort", "session"),
]
# The functions with a required argument (inventory and session have none).
NEEDS_ARGUMENTS = [name for name in PUBLIC if name not in ("inventory", "session")]


@pytest.fixture
def runner(tmp_path, monkeypatch):
    runner = cluster_runner(tmp_path, monkeypatch)
    runner.__context__ = {}
    return runner


def public_functions(runner):
    return [name for name in PUBLIC if hasattr(runner, name)]


def test_every_public_function_is_wrapped(runner):
    module_functions = [
        name
        for name, value in vars(runner).items()
        if inspect.isfunction(value) and not name.startswith("_") and value.__module__ == runner.__name__
    ]
    for name in module_functions:
        if name in ("public",):
            continue
        fun = getattr(runner, name)
        assert hasattr(fun, "signature"), f"cluster.{name} is not wrapped by brine.face"
        assert not hasattr(fun, "__wrapped__")
        assert str(inspect.signature(fun)) == "(*args, **kwargs)"
        assert "CLI Example" in fun.__doc__


def assert_refusal(ret, code, *words):
    assert set(ret) == {"error", "retcode"} and ret["retcode"] == 1, ret
    assert ret["error"]["code"] == code, ret
    message = ret["error"]["message"]
    assert "Traceback" not in message and "CLI Example" not in message and "Usage" not in message
    for word in words:
        assert word in message, message
    return message


@pytest.mark.parametrize("name", PUBLIC)
def test_a_wrong_argument_is_an_invalid_argument_naming_it(runner, monkeypatch, name):
    assert hasattr(runner, name), f"cluster.{name} is gone: update PUBLIC"
    client = use_client(monkeypatch, runner, {})
    ret = getattr(runner, name)(bogus_option=1, __pub_user="x")
    assert_refusal(ret, "invalid_argument", "bogus_option")
    assert runner.__context__["retcode"] == 1
    assert client.calls == []


@pytest.mark.parametrize("name", NEEDS_ARGUMENTS)
def test_a_missing_argument_is_an_invalid_argument_naming_it(runner, monkeypatch, name):
    params = getattr(runner, name).signature.parameters
    required = [key for key, param in params.items() if param.default is param.empty]
    assert required, f"cluster.{name} has no required argument: update NEEDS_ARGUMENTS"
    client = use_client(monkeypatch, runner, {})
    assert_refusal(getattr(runner, name)(), "invalid_argument", required[0])
    assert client.calls == []


@pytest.mark.parametrize("name", PUBLIC)
def test_too_many_arguments_and_a_twice_given_one_are_refused(runner, monkeypatch, name):
    assert hasattr(runner, name), f"cluster.{name} is gone: update PUBLIC"
    fun = getattr(runner, name)
    params = list(fun.signature.parameters)
    use_client(monkeypatch, runner, {})
    assert_refusal(fun(*range(len(params) + 1)), "invalid_argument", "at most")
    if params:
        assert_refusal(fun("x", **{params[0]: "x"}), "invalid_argument", params[0], "twice")


def test_salt_internal_keys_are_dropped_and_positional_arguments_work(runner, monkeypatch):
    seen = []
    record = lambda action, name, **kw: seen.append((action, name, kw)) or {}  # noqa: E731
    monkeypatch.setattr(runner, "_lifecycle", record)
    assert runner.start("lab-vm1", __pub_jid="1", __user__="u") == {}
    assert runner.start(name="lab-vm1", test="true") == {}
    assert seen == [("start", "lab-vm1", {"test": False}), ("start", "lab-vm1", {"test": "true"})]
    assert "retcode" not in runner.__context__


def test_a_coded_refusal_is_the_structure(runner, monkeypatch):
    def refuse(*args, **kwargs):
        raise errors.Refused("not_running", "lab-vm3 is not running")

    monkeypatch.setattr(runner, "_lifecycle", refuse)
    ret = runner.reboot("lab-vm3")
    assert ret == {"error": {"code": "not_running", "message": "lab-vm3 is not running"}, "retcode": 1}
    assert runner.__context__["retcode"] == 1
    # The next call that succeeds clears it: the loader's context outlives one call.
    monkeypatch.setattr(runner, "_lifecycle", lambda *args, **kwargs: {"ok": True})
    assert runner.reboot("lab-vm3") == {"ok": True}
    assert "retcode" not in runner.__context__


def test_a_salt_error_carrying_a_code_in_its_text_is_the_structure_too(runner, monkeypatch):
    from salt.exceptions import CommandExecutionError

    def refuse(*args, **kwargs):
        raise CommandExecutionError("ERROR: [no_vm] no VM named x")

    monkeypatch.setattr(runner, "_lifecycle", refuse)
    assert runner.start("x")["error"] == {"code": "no_vm", "message": "no VM named x"}


@pytest.mark.parametrize("name", PUBLIC)
def test_an_unexpected_exception_is_internal_with_a_reference_and_no_traceback(
    runner, monkeypatch, caplog, name
):
    assert hasattr(runner, name), f"cluster.{name} is gone: update PUBLIC"

    def boom(*args, **kwargs):
        raise KeyError("secret-internal-detail")

    for helper in ("_local_client", "_cache", "_hypervisor_hosts", "_lookup"):
        monkeypatch.setattr(runner, helper, boom)
    monkeypatch.setattr(runner.validate, "vm_name", boom)
    monkeypatch.setattr(runner.fanout, "timeout", boom)
    if name == "session":
        monkeypatch.setattr(runner.stream, "session", boom)
    fun = getattr(runner, name)
    args = ["lab-vm1", "hv2"][: sum(p.default is p.empty for p in fun.signature.parameters.values())]
    with caplog.at_level(logging.ERROR, logger="brine.face"):
        ret = fun(*args)
    message = assert_refusal(ret, "internal", "unexpected problem", "ref ")
    assert "secret-internal-detail" not in message and "KeyError" not in message
    ref = message.split("ref ")[1].split(")")[0]
    assert any(ref in record.getMessage() and record.exc_info for record in caplog.records)


def test_bind_sentences():
    def f(name, target, live=True):
        return name

    sig = inspect.signature(f)
    with pytest.raises(errors.Invalid, match="needs the argument target"):
        face.bind("cluster.f", sig, ("a",), {})
    with pytest.raises(errors.Invalid, match="has no argument bandwith"):
        face.bind("cluster.f", sig, ("a", "b"), {"bandwith": 5})
    assert face.bind("cluster.f", sig, ("a",), {"target": "b", "__pub_fun": "x"}).args == ("a", "b")


def test_unknown_codes_are_a_bug():
    with pytest.raises(ValueError):
        face.error("nope", "x")
    assert face.is_error(face.error("internal", "x"))
    assert not face.is_error({"error": "text"})


def test_salt_globals_land_in_the_runner_module(runner):
    # salt/client/mixins.py low() sets __user__ & co. in the called function's __globals__.
    assert runner.start.__globals__ is vars(runner)
