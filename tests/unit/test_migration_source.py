"""
A migration driven from the source (``brine.migration``), as pure logic: its flags, when it is
honest to skip libvirt's safety check, the target's URI, the progress figures, and the checks
of its identifiers.
"""

import pytest
from salt.exceptions import SaltInvocationError

from brine import migration
from brine import migration_check

libvirt = pytest.importorskip("libvirt")


def test_unsafe_only_when_every_disk_libvirt_would_flag_is_shared_by_configuration():
    flagged = {"path": "/shared/a", "cache": None, "shared": True}
    local = {"path": "/local/b", "cache": None, "shared": False}
    assert migration.needs_unsafe([flagged])
    assert not migration.needs_unsafe([flagged, local])
    assert not migration.needs_unsafe([dict(flagged, cache="none")])
    # A cache=none disk in a folder only the configuration calls shared: libvirt sees a local
    # filesystem and refuses without the flag (as it did for the landscape's guests on the lab).
    configured = dict(flagged, cache="none", sharing=migration_check.SHARED_BY_CONFIGURATION)
    assert migration.needs_unsafe([configured])
    assert not migration.needs_unsafe([configured, dict(local, cache="none")])
    assert not migration.needs_unsafe([dict(local, cache="none")])
    assert not migration.needs_unsafe([dict(local, readonly=True)])
    assert not migration.needs_unsafe([])


def test_migration_flags():
    base = (
        libvirt.VIR_MIGRATE_PEER2PEER | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    )
    assert migration.flags(True, False, False, False, False) == base | libvirt.VIR_MIGRATE_LIVE
    assert migration.flags(True, False, False, True, True) == (
        base | libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_AUTO_CONVERGE | libvirt.VIR_MIGRATE_UNSAFE
    )
    # Copying storage makes the disks safe: no UNSAFE then.
    assert migration.flags(False, False, True, False, True) == base | libvirt.VIR_MIGRATE_NON_SHARED_DISK
    assert migration.flags(True, True, False, True, True) == base | libvirt.VIR_MIGRATE_OFFLINE
    # No TLS unless asked for (brine:migration:tls false: the lab's plain TCP).
    assert not migration.flags(True, False, True, True, False) & libvirt.VIR_MIGRATE_TLS


def test_tls_migration_flags():
    """brine:migration:tls adds QEMU's native migration TLS to every kind of migration (hosts
    with migrate_tls_force refuse an offline one without it too), and nothing else changes."""
    for args in [
        (True, False, False, False, False),
        (True, False, True, True, False),
        (False, False, False, False, True),
        (True, True, False, False, False),
    ]:
        assert migration.flags(*args, tls=True) == migration.flags(*args) | libvirt.VIR_MIGRATE_TLS
    # Never tunnelled: libvirt refuses TLS with VIR_MIGRATE_TUNNELLED.
    assert not migration.flags(True, False, True, False, False, tls=True) & libvirt.VIR_MIGRATE_TUNNELLED
    # Disks copied with copy_storage go over the same TLS (libvirt's NBD with TLS).
    copy = migration.flags(True, False, True, False, False, tls=True)
    assert copy & libvirt.VIR_MIGRATE_NON_SHARED_DISK and copy & libvirt.VIR_MIGRATE_TLS


def test_migration_uri_from_the_template():
    assert migration.target_uri("qemu+tcp://{host}/system", "hv2") == "qemu+tcp://hv2/system"
    assert migration.target_uri(None, "hv2") == "qemu+tls://hv2/system"


def test_progress_figures():
    stats = {
        "data_total": 1000,
        "data_remaining": 250,
        "data_processed": 800,
        "memory_dirty_rate": 10,
        "memory_page_size": 4096,
        "downtime": 42,
    }
    progress = migration.progress(stats, started=0)
    assert progress["percent"] == 75.0 and progress["dirty_rate"] == 40960
    assert progress["expected_downtime"] == 42 and progress["data_remaining"] == 250
    assert migration.progress({}, started=0)["percent"] == 0.0


@pytest.mark.parametrize("value", ["mig/../x", "a b", "", None, "-x"])
def test_bad_migration_ids_are_invalid(value):
    with pytest.raises(SaltInvocationError):
        migration.migration_id(value)


def test_progress_events_that_cannot_go_out_are_logged_not_raised(caplog):
    def broken(tag, data):
        raise RuntimeError("bus down")

    migration.fire(broken, "brine/migration/x/progress", {})
    assert "Could not fire brine/migration/x/progress" in caplog.text


# -- an abort is an abort however libvirt words the failure ------------------------------------


class _Dom:
    def UUIDString(self):
        return "0a1b2c3d-0000-4000-8000-000000000001"


class _Err:
    def __init__(self, code):
        self.code = code

    def get_error_code(self):
        return self.code


def test_an_abort_asked_on_the_host_counts_whatever_error_libvirt_reports(tmp_path, monkeypatch):
    import libvirt

    monkeypatch.setattr(migration, "has_job", lambda dom: True)
    monkeypatch.setattr(migration.libvirt_host, "current_state", lambda dom: "running")
    dom = _Dom()
    dom.abortJob = lambda: None
    target_side = _Err(libvirt.VIR_ERR_OPERATION_FAILED)  # "Read section footer failed: -5"
    assert migration._was_aborted(target_side, dom, str(tmp_path), since=0) is False
    migration.abort(dom, "vm", "hv1", str(tmp_path))
    assert migration._was_aborted(target_side, dom, str(tmp_path), since=0) is True
    # The mark is used up, and one older than the migration does not count.
    assert migration._was_aborted(target_side, dom, str(tmp_path), since=0) is False
    migration.abort(dom, "vm", "hv1", str(tmp_path))
    assert migration._was_aborted(target_side, dom, str(tmp_path), since=2**40) is False
    # libvirt's own word for it counts without a mark.
    assert migration._was_aborted(_Err(libvirt.VIR_ERR_OPERATION_ABORTED), dom, None, since=0) is True
