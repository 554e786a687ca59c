"""
A live (or offline) migration driven by the source's libvirtd, peer to peer (docs/api.md,
Migration and Events): the checks before it, its flags, the progress events while it runs,
what is said when it fails, and the clean-up a failed incoming migration leaves on a target.

Events go out through a ``send(tag, data)`` the caller passes (on a host, Salt's
``event.send``); refusals are ``brine.errors.Refused`` with a code.

:depends: libvirt-python
"""

import contextlib
import logging
import os
import re
import threading
import time

from brine import domxml
from brine import libvirt_host
from brine import migration_check
from brine import vocabulary
from brine.errors import Invalid
from brine.errors import Refused
from brine.migration_check import disk_sharing

try:
    import libvirt
except ImportError:
    libvirt = None

log = logging.getLogger(__name__)

MIGRATION_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
UUID_RE = re.compile(r"[0-9a-fA-F-]{32,36}")
PROGRESS_SECONDS = 0.5
# How long a target may take to drop an incoming domain after a failed migration.
CLEANUP_WAIT_SECONDS = 10
CLEANUP_POLL_SECONDS = 0.5


def migration_id(value):
    """``value`` if it can be a migration id (it goes into event tags), else ``Invalid``."""
    if isinstance(value, str) and MIGRATION_ID_RE.fullmatch(value):
        return value
    raise Invalid(f"{value!r} is not a valid migration id")


def uuid(value):
    if isinstance(value, str) and UUID_RE.fullmatch(value):
        return value
    raise Invalid(f"{value!r} is not a UUID")


def target_uri(template, host):
    """The libvirt URI of ``host`` from a template like ``qemu+tls://{host}/system``."""
    return (template or "qemu+tls://{host}/system").replace("{host}", host)


def _libvirt_sees_shared(disk):
    """Shared storage libvirt itself recognises (a network pool, ...), not only Brine's configuration."""
    return bool(disk.get("shared")) and disk.get("sharing") != migration_check.SHARED_BY_CONFIGURATION


def needs_unsafe(disks):
    """
    True when libvirt's check would refuse the migration and every disk it would refuse for is
    shared by configuration: then VIR_MIGRATE_UNSAFE is the honest flag. libvirt refuses a
    writable disk on a filesystem it does not know as shared (a folder only Brine's
    configuration calls shared) whatever its cache mode, and one on shared storage with a cache
    mode other than none/directsync.
    """
    flagged = [
        disk
        for disk in disks
        if disk.get("path")
        and not disk.get("readonly")
        and not disk.get("shareable")
        and disk.get("source_type") != "network"
        and (disk.get("cache") not in ("none", "directsync") or not _libvirt_sees_shared(disk))
    ]
    return bool(flagged) and all(disk["shared"] for disk in flagged)


def flags(live, offline, copy_storage, autoconverge, unsafe, tls=False):
    """
    The ``migrateToURI3`` flags of a migration with these options. ``tls``
    (``brine:migration:tls``) asks for QEMU's native migration TLS: memory, and disks with
    ``copy_storage``, travel encrypted and authenticated with the certificates in QEMU's TLS
    folder; hosts whose qemu.conf sets ``migrate_tls_force`` refuse any migration without it
    (an offline one included, which carries no data stream but is checked all the same).
    """
    value = (
        libvirt.VIR_MIGRATE_PEER2PEER | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    )
    if tls:
        value |= libvirt.VIR_MIGRATE_TLS
    if offline:
        return value | libvirt.VIR_MIGRATE_OFFLINE
    if live:
        value |= libvirt.VIR_MIGRATE_LIVE
    if copy_storage:
        value |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
    elif unsafe:
        value |= libvirt.VIR_MIGRATE_UNSAFE
    if autoconverge:
        value |= libvirt.VIR_MIGRATE_AUTO_CONVERGE
    return value


def has_job(dom):
    """True when the domain runs a job (a migration, a save...); False where the driver cannot say."""
    try:
        return dom.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return False
        raise


def source_domain(conn, name, host, target, offline):
    """The domain to migrate; ``Refused`` when its state or a running job makes it impossible."""
    if target == host:
        raise Refused("migration_refused", f"{name} is already on {host}")
    dom = libvirt_host.lookup(conn, name, host)
    state = libvirt_host.current_state(dom)
    active = vocabulary.is_active(state)
    if offline and active:
        raise Refused(
            "wrong_state",
            f"{name} is {vocabulary.STATE_PHRASES.get(state, state)} on {host}; an offline migration "
            "moves only the definition of a VM that is shut off",
        )
    if not offline and not active:
        raise Refused(
            "not_running", f"{name} is not running on {host}; use offline=True to move its definition"
        )
    if active and has_job(dom):
        raise Refused("migration_busy", f"{name} is busy with another job on {host} (a migration?)")
    return dom


def progress(stats, started):
    """The progress figures of a running migration from ``jobStats()``."""
    total = stats.get("data_total") or 0
    remaining = stats.get("data_remaining") or 0
    dirty = (stats.get("memory_dirty_rate") or 0) * (stats.get("memory_page_size") or 4096)
    return {
        "percent": round(100.0 * (total - remaining) / total, 1) if total else 0.0,
        "data_total": total,
        "data_processed": stats.get("data_processed") or 0,
        "data_remaining": remaining,
        "dirty_rate": dirty,
        "expected_downtime": stats.get("downtime"),
        "elapsed": round(time.monotonic() - started, 3),
    }


def fire(send, tag, data):
    """``send(tag, data)``; an event that cannot go out is logged, never raised."""
    try:
        send(tag, data)
    except Exception as err:  # an event bus problem must not fail the migration
        log.warning("Could not fire %s: %s", tag, err)


class ProgressReporter:
    """Fires ``brine/migration/<id>/progress`` every ~0.5 s while the domain has a job."""

    def __init__(self, dom, base, started, send):
        self.dom, self.base, self.started, self.send = dom, base, started, send
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.wait(PROGRESS_SECONDS):
            try:
                stats = self.dom.jobStats(0)
            except libvirt.libvirtError:
                continue
            if stats.get("type") in (libvirt.VIR_DOMAIN_JOB_BOUNDED, libvirt.VIR_DOMAIN_JOB_UNBOUNDED):
                tag = f"brine/migration/{self.base['id']}/progress"
                fire(self.send, tag, dict(self.base, **progress(stats, self.started)))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *args):
        self.stop.set()
        self.thread.join(5)


def unreachable(uri):
    """Why libvirtd at ``uri`` cannot be reached now, or None when it answers."""
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as err:
        return libvirt_host.message(err)
    with contextlib.suppress(libvirt.libvirtError):
        conn.close()
    return None


def completed_stats(uri, name):
    """
    The completed job's statistics as the target keeps them (source stats go with the source
    domain when it is undefined), or {} when they cannot be read.
    """
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as err:
        log.info("No completed migration statistics from %s: %s", uri, libvirt_host.message(err))
        return {}
    try:
        return conn.lookupByName(name).jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)
    except libvirt.libvirtError as err:
        log.info("No completed migration statistics for %s: %s", name, libvirt_host.message(err))
        return {}
    finally:
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()


def _abort_mark(cachedir, dom):
    """Where ``abort`` notes that someone asked to abort ``dom``'s migration (None: nowhere)."""
    return os.path.join(cachedir, "brine", "migration-aborts", dom.UUIDString()) if cachedir else None


def _was_aborted(err, dom, cachedir, since):
    """
    Whether the migration ended because someone aborted it: libvirt says so, or (libvirt
    reports whichever side noticed first, e.g. the target's "Read section footer failed") an
    abort of this VM was asked on this host after the migration started. The mark is used up.
    """
    mark, asked = _abort_mark(cachedir, dom), False
    if mark:
        try:
            asked = os.stat(mark).st_mtime >= since
            os.unlink(mark)
        except OSError:
            asked = False
    return asked or err.get_error_code() == libvirt.VIR_ERR_OPERATION_ABORTED


def failure_sentence(err, dom, base, uri, offline, aborted=None):
    """(sentence, aborted) saying why the migration failed and where the VM is now."""
    name, host, target = base["vm"], base["source"], base["target"]
    if aborted is None:
        aborted = err.get_error_code() == libvirt.VIR_ERR_OPERATION_ABORTED
    now = libvirt_host.current_state(dom)
    phrase = vocabulary.STATE_PHRASES.get(now, now)
    still = "still " if vocabulary.is_active(now) or offline else ""
    where = f"{name} is {still}{phrase} on {host}"
    if aborted:
        return f"the migration of {name} to {target} was aborted; {where}", True
    cause = libvirt_host.message(err)
    reason = unreachable(uri)
    if reason:
        cause += f" ({target}'s libvirtd cannot be reached: {reason})"
    return f"the migration of {name} to {target} failed: {cause}; {where}", False


def run(dom, base, uri, options, folders, send, tls=False, cachedir=None):
    """
    Migrate ``dom`` (from ``source_domain``) to ``uri`` with ``options`` (live,
    max_downtime, bandwidth, copy_storage, autoconverge, offline), with QEMU's migration TLS
    when ``tls``, firing ``started``, ``progress``, then ``done`` or ``failed``. Returns the done
    event's data with the options and whether TLS carried it; a failure is
    ``Refused(migration_failed)`` after the ``failed`` event.
    """
    offline = options["offline"]
    disks = []
    for disk in domxml.disk_details(dom.XMLDesc(0)):
        shared, sharing = disk_sharing(disk, None, folders)
        disks.append(dict(disk, shared=shared, sharing=sharing))
    migrate_flags = flags(
        options["live"], offline, options["copy_storage"], options["autoconverge"], needs_unsafe(disks), tls
    )
    params = {libvirt.VIR_MIGRATE_PARAM_BANDWIDTH: options["bandwidth"]} if options["bandwidth"] else {}
    if options["max_downtime"] and not offline:
        dom.migrateSetMaxDowntime(options["max_downtime"], 0)
    tag = f"brine/migration/{base['id']}"
    fire(send, f"{tag}/started", dict(base, options=options))
    started, started_at = time.monotonic(), time.time()
    with contextlib.suppress(OSError, TypeError):
        os.unlink(_abort_mark(cachedir, dom))  # a mark left by an abort that came too late
    try:
        if offline:
            dom.migrateToURI3(uri, params, migrate_flags)
        else:
            with ProgressReporter(dom, base, started, send):
                dom.migrateToURI3(uri, params, migrate_flags)
    except libvirt.libvirtError as err:
        aborted = _was_aborted(err, dom, cachedir, started_at)
        sentence, aborted = failure_sentence(err, dom, base, uri, offline, aborted)
        fire(send, f"{tag}/failed", dict(base, error=sentence, aborted=aborted))
        raise Refused("migration_failed", sentence) from err
    total_time = round(time.monotonic() - started, 3)
    stats = {} if offline else completed_stats(uri, base["vm"])
    done = dict(base, total_time=total_time, downtime=stats.get("downtime"))
    fire(send, f"{tag}/done", done)
    return dict(done, options=options, tls=bool(migrate_flags & libvirt.VIR_MIGRATE_TLS))


def abort(dom, name, host, cachedir=None):
    """
    Abort the job (a migration) of ``dom``; ``Refused(no_migration)`` when there is none. The
    request is noted first (in ``cachedir``), so the migration says it was aborted however
    libvirt words the failure.
    """
    if not vocabulary.is_active(libvirt_host.current_state(dom)) or not has_job(dom):
        raise Refused("no_migration", f"{name} is not being migrated on {host}")
    mark = _abort_mark(cachedir, dom)
    if mark:
        os.makedirs(os.path.dirname(mark), mode=0o700, exist_ok=True)
        with open(mark, "w", encoding="ascii") as handle:
            handle.write(f"{time.time()}\n")
    dom.abortJob()


def _leftover(conn, name, vm_uuid, host):
    """(domain, None) to remove, or (None, comment) when there is nothing of ours to remove."""
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError as err:
        if not libvirt_host.is_missing(err):
            raise
        return None, f"nothing of {name} on {host}"
    if dom.UUIDString().lower() != vm_uuid.lower():
        return None, f"{name} on {host} is another VM (UUID {dom.UUIDString()}); left alone"
    return dom, None


def cleanup(conn, name, vm_uuid, host, wait=CLEANUP_WAIT_SECONDS):
    """
    Remove what a failed incoming migration of ``name`` left here (``migration_cleanup``):
    returns (removed, comment). A VM of that name running normally is never touched.
    """
    deadline = time.monotonic() + wait
    while True:
        dom, comment = _leftover(conn, name, vm_uuid, host)
        if dom is None:
            return False, comment
        state, reason = dom.state()
        word = vocabulary.state_name(state)
        incoming = word == "paused" and vocabulary.reason_name(word, reason) in (
            "migration",
            "starting_up",
            "unknown",
        )
        # libvirt normally drops an incoming domain itself, and a running one may be the
        # migration finishing after all: give either a moment before deciding.
        if vocabulary.is_active(word) and time.monotonic() < deadline:
            time.sleep(CLEANUP_POLL_SECONDS)
            continue
        if vocabulary.is_active(word) and not incoming:
            return False, f"{name} is {vocabulary.STATE_PHRASES.get(word, word)} on {host}; left alone"
        if incoming:
            dom.destroy()
        try:
            dom.undefine()
        except libvirt.libvirtError as err:
            if err.get_error_code() not in (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_OPERATION_INVALID):
                raise
        return True, f"removed what the failed migration left of {name} on {host}"
