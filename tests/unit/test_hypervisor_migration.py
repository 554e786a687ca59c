"""
The migration section of the ``hypervisor`` module as a Salt face: its arguments (and the needs
dict a target is asked about) are checked before anything is touched. What it decides is tested
with the library (test_migration_check.py, test_migration.py).
"""

from unittest import mock

import pytest
from salt.exceptions import SaltInvocationError

from support.loading import load

pytest.importorskip("libvirt")

hypervisor = load("_modules/hypervisor.py", "hypervisor_migration")


@pytest.fixture
def no_libvirt():
    with mock.patch.object(hypervisor, "_open_connection", autospec=True) as open_connection:
        hypervisor.__salt__ = {"config.get": mock.Mock(return_value=None)}
        hypervisor.__grains__ = {"id": "hv1"}
        yield open_connection


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": "hv2; rm -rf /"},
        {"target": "../hv2"},
        {"target": ""},
        {"migration_id": "mig/../x"},
        {"migration_id": "a b"},
        {"max_downtime": 0},
        {"max_downtime": "fast"},
        {"bandwidth": -1},
        {"bandwidth": True},
        {"live": "maybe"},
        {"offline": True, "copy_storage": True},
        {"name": "vm;reboot"},
    ],
)
def test_migrate_refuses_bad_arguments_before_connecting(no_libvirt, kwargs):
    arguments = dict({"name": "vm1", "target": "hv2", "migration_id": "mig-1-abcdef"}, **kwargs)
    with pytest.raises(SaltInvocationError):
        hypervisor.migrate(**arguments)
    no_libvirt.assert_not_called()


@pytest.mark.parametrize("bad", [None, "vm1", {"name": "../etc"}, {"name": "vm1", "disks": "x"}])
def test_target_check_refuses_bad_needs_before_connecting(no_libvirt, bad):
    with pytest.raises(SaltInvocationError):
        hypervisor.migration_target_check(bad)
    no_libvirt.assert_not_called()


def test_cleanup_refuses_a_bad_uuid_before_connecting(no_libvirt):
    with pytest.raises(SaltInvocationError):
        hypervisor.migration_cleanup("vm1", "not-a-uuid; ls")
    no_libvirt.assert_not_called()
