"""
The migration runner functions through salt-api as the web UI calls them: who may call
them, and refusals that come back as sentences. Real migrations need two real hypervisors:
they are in tests/e2e/test_migration.py.
"""

import pytest


def test_operator_gets_the_targets_of_a_drag(api, hv1):
    targets = api.result("operator", "cluster.migration_targets", name="test")
    assert targets[hv1.id] == {"eligible": False, "reasons": [f"test is already on {hv1.id}"], "offers": []}


def test_operator_checks_one_target(api, hv1):
    checked = api.result("operator", "cluster.migration_check", name="test", target=hv1.id)
    assert checked == {hv1.id: {"eligible": False, "reasons": [f"test is already on {hv1.id}"], "offers": []}}


@pytest.mark.parametrize("fun", ["cluster.migration_targets", "cluster.migrate", "cluster.migration_abort"])
def test_viewer_may_not_migrate(api, vm_state, fun):
    response = api.runner("viewer", fun, name="test", target="nowhere")
    assert response.status_code in (401, 403)
    assert vm_state() == "running"


@pytest.mark.parametrize(
    "kwargs,sentence",
    [
        (
            {"name": "test", "target": "hv2;reboot"},
            "[invalid_argument] 'hv2;reboot' is not a valid host name for target",
        ),
        ({"name": "../test", "target": "somewhere"}, "[invalid_argument] '../test' is not a valid VM name"),
        (
            {"name": "test", "target": "not-a-host"},
            "[no_host] not-a-host is not a hypervisor host Brine knows",
        ),
        ({"name": "no-such-vm", "target": "HV1"}, "[no_vm] no VM named no-such-vm"),
    ],
)
def test_refusals_come_back_as_sentences(api, hv1, vm_state, kwargs, sentence):
    kwargs = {key: (hv1.id if value == "HV1" else value) for key, value in kwargs.items()}
    assert sentence in api.error("operator", "cluster.migrate", **kwargs)
    assert vm_state() == "running"


def test_abort_without_a_migration_says_so(api, hv1):
    assert "[no_migration] no migration of test is running" in api.error(
        "admin", "cluster.migration_abort", name="test"
    )
