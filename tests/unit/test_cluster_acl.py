r"""
The eauth table in master.d/brine-eauth.conf, checked with Salt's own ACL code
against every public function of the ``cluster``, ``provision``, ``landscape`` and ``containers``
runners.

Salt matches ACL entries with ``re.match`` (anchored at the start only), so an
operator entry ``cluster.start`` would also allow a new ``cluster.start_all``
(and its ``.`` any character): every pattern is anchored (``cluster\.start\Z``).
``ROLES`` below is the table from docs/api.md; adding a runner function makes
these tests fail until someone decides who may call it.
"""

import copy
import inspect

import pytest
import salt.config
import salt.utils.minions
import salt.utils.yaml

from support import loading
from support.paths import REPO

VIEWER = {"inventory", "vm_info", "session"}
OPERATOR = VIEWER | {"start", "shutdown", "force_off", "reboot", "pause", "resume", "console"}
OPERATOR |= {"migration_targets", "migration_check", "migrate", "migration_abort"}
ADMIN = OPERATOR | {"delete"}
# provision (docs/provisioning.md): viewers read the catalog, operators create VMs from it,
# admins change it.
PROVISION_VIEWER = {"catalog", "kickstarts", "installs", "sealing_key"}
PROVISION_OPERATOR = PROVISION_VIEWER | {"create", "dismiss"}
PROVISION_ADMIN = PROVISION_OPERATOR | {"catalog_set", "catalog_delete"}
# landscape (docs/landscape.md): every role sees what the hosts have, the picture and the difference; only
# admins start, stop and refresh networks and pools.
LANDSCAPE_VIEWER = {"networks", "pools", "show", "diff"}
LANDSCAPE_OPERATOR = LANDSCAPE_VIEWER
LANDSCAPE_ADMIN = LANDSCAPE_OPERATOR | {
    "network_start",
    "network_stop",
    "pool_start",
    "pool_stop",
    "pool_refresh",
}
# Decided before they exist: the landscape runner's picture and difference come later.
LANDSCAPE_COMING = {"show", "diff"}
# containers (docs/containers.md): viewers see containers, local images and the registry;
# operators run, start, stop, restart, pause, unpause and read logs; admins also remove.
CONTAINERS_VIEWER = {"list", "images", "registry"}
CONTAINERS_OPERATOR = CONTAINERS_VIEWER | {"run", "start", "stop", "restart", "pause", "unpause", "logs"}
CONTAINERS_ADMIN = CONTAINERS_OPERATOR | {"remove"}
ROLES = {
    "brine-viewer": VIEWER
    | {f"provision.{f}" for f in PROVISION_VIEWER}
    | {f"landscape.{f}" for f in LANDSCAPE_VIEWER}
    | {f"containers.{f}" for f in CONTAINERS_VIEWER},
    "brine-operator": OPERATOR
    | {f"provision.{f}" for f in PROVISION_OPERATOR}
    | {f"landscape.{f}" for f in LANDSCAPE_OPERATOR}
    | {f"containers.{f}" for f in CONTAINERS_OPERATOR},
    "brine-admin": ADMIN
    | {f"provision.{f}" for f in PROVISION_ADMIN}
    | {f"landscape.{f}" for f in LANDSCAPE_ADMIN}
    | {f"containers.{f}" for f in CONTAINERS_ADMIN},
}
RUNNERS = ("cluster", "provision", "landscape", "containers")
# Names that only look like a role's functions: a suffix, another separator, a trailing newline.
LOOKALIKES = ["{}X", "{}_all", "{}\n", "{}.x"]


def _public_runner_functions(runner="cluster"):
    module = loading.load(f"_runners/{runner}.py")
    # What Salt's loader exposes: functions defined there, not starting with "_", under their
    # __func_alias__ name (containers.list is list_ in the file)
    alias = getattr(module, "__func_alias__", {})
    return {
        alias.get(name, name)
        for name, func in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and func.__module__ == module.__name__
    }


def _qualified(fun):
    """``cluster.<fun>`` for the table's bare cluster names, ``provision.<fun>`` as it is."""
    return fun if "." in fun else f"cluster.{fun}"


@pytest.fixture(scope="module")
def pam_acl():
    with open(REPO / "master.d" / "brine-eauth.conf", encoding="utf-8") as handle:
        return salt.utils.yaml.safe_load(handle)["external_auth"]["pam"]


@pytest.fixture(scope="module")
def ckminions(tmp_path_factory):
    root = tmp_path_factory.mktemp("acl")
    opts = copy.deepcopy(salt.config.DEFAULT_MASTER_OPTS)
    opts.update(
        __role="master",
        cachedir=str(root / "cache"),
        pki_dir=str(root / "pki"),
        sock_dir=str(root / "sock"),
    )
    return salt.utils.minions.CkMinions(opts)


def allowed(ckminions, pam_acl, groups, fun):
    auth_list = ckminions.fill_auth_list(pam_acl, "someone", groups)
    return ckminions.runner_check(auth_list, fun, {}) is True


def _session():
    # cluster.session (Brine's event stream asks it who a token belongs to) is every role's, once
    # the runner has it.
    return {"session"} & _public_runner_functions()


def _roles():
    return {group: funs | _session() for group, funs in ROLES.items()}


def test_every_runner_function_has_a_role():
    assert _public_runner_functions() == ADMIN | _session()
    assert _public_runner_functions("provision") == PROVISION_ADMIN
    assert _public_runner_functions("landscape") | LANDSCAPE_COMING == LANDSCAPE_ADMIN
    assert _public_runner_functions("containers") == CONTAINERS_ADMIN


def _patterns(pam_acl):
    for group, entries in pam_acl.items():
        for entry in entries:
            for pattern in entry["@runner"]:
                yield group, pattern


def test_every_pattern_is_anchored(pam_acl):
    for group, pattern in _patterns(pam_acl):
        assert pattern.startswith(tuple(f"{runner}\\." for runner in RUNNERS)) and pattern.endswith("\\Z"), (
            group,
            pattern,
        )


@pytest.mark.parametrize("group", sorted(ROLES))
def test_names_that_only_look_like_a_roles_functions_are_refused(ckminions, pam_acl, group):
    for fun in sorted(_roles()[group]):
        qualified = _qualified(fun)
        assert allowed(ckminions, pam_acl, [group], qualified)
        for lookalike in LOOKALIKES:
            if group == "brine-admin" and lookalike == "{}_all":
                continue  # an admin may call every cluster function, a future cluster.x_all too
            assert not allowed(ckminions, pam_acl, [group], lookalike.format(qualified))
        # Salt refuses a name without a dot before it matches; the patterns refuse it as well.
        for _group, pattern in _patterns(pam_acl):
            assert not ckminions.match_check(pattern, qualified.replace(".", "X", 1))
            assert not ckminions.match_check(pattern, f"{qualified}\n")


def test_a_viewer_is_refused_inventory_lookalikes(ckminions, pam_acl):
    assert allowed(ckminions, pam_acl, ["brine-viewer"], "cluster.inventory")
    for fun in ("cluster.inventoryX", "clusterXinventory", "cluster.inventory\n", "cluster.inventory_all"):
        assert not allowed(ckminions, pam_acl, ["brine-viewer"], fun), fun


@pytest.mark.parametrize("group", sorted(ROLES))
@pytest.mark.parametrize("fun", sorted(ROLES["brine-admin"]))
def test_each_role_may_call_exactly_its_functions(ckminions, pam_acl, group, fun):
    assert allowed(ckminions, pam_acl, [group], _qualified(fun)) is (fun in _roles()[group])


@pytest.mark.parametrize(
    "fun",
    ["jobs.list_jobs", "salt.cmd", "state.orchestrate", "manage.up", "pillar.show_pillar", "virt.query"],
)
@pytest.mark.parametrize("group", sorted(ROLES))
def test_no_role_reaches_other_runners(ckminions, pam_acl, group, fun):
    assert not allowed(ckminions, pam_acl, [group], fun)


def test_groups_add_up(ckminions, pam_acl):
    assert allowed(ckminions, pam_acl, ["brine-viewer", "brine-admin"], "cluster.delete")


def test_a_user_in_no_brine_group_gets_nothing(ckminions, pam_acl):
    assert ckminions.fill_auth_list(pam_acl, "someone", ["users", "sudo"]) == []


@pytest.mark.parametrize("group", sorted(ROLES))
def test_no_role_may_run_wheel_or_minion_functions(ckminions, pam_acl, group):
    auth_list = ckminions.fill_auth_list(pam_acl, "someone", [group])
    assert ckminions.wheel_check(auth_list, "key.accept", {}) is not True
    assert not ckminions.auth_check(auth_list, "test.ping", [], "*")
