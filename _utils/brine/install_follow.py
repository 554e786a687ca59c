"""
Following an install to its end on the host (docs/provisioning.md, The install): what the
host's ``brine_installs`` engine does with a domain that carries the ``<brine:install>`` marker.

- While it runs: the installer's progress, read from the host's serial console log, goes into
  the marker (so an inventory shows it) and into a ``brine/vm/<host>/<vm>/install`` event.
- When it stops: after ``brine-install: done`` the marker goes and the VM starts from its disk
  (state ``running``); otherwise the install ``failed``: the domain and its new volume are
  removed and a record kept (``brine.install.records``), unless the create asked to keep it.

:depends: libvirt-python
"""

import logging

from brine import install
from brine import libvirt_host
from brine import lifecycle

try:
    import libvirt
except ImportError:
    libvirt = None

log = logging.getLogger(__name__)


def install_tag(host, name):
    return f"brine/vm/{host}/{name}/install"


def event(host, name, state, progress=None, step=None, reason=None):
    """The payload of a ``brine/vm/<host>/<vm>/install`` event."""
    return {"host": host, "name": name, "state": state, "progress": progress, "step": step, "reason": reason}


def progress(dom, host, mark):
    """
    The install event for a running install whose serial log says more than ``mark`` (its
    marker) does, after writing it into the marker; None when nothing changed.
    """
    name = dom.name()
    report = install.read_serial(install.read_serial_file(install.SERIAL_LOG.format(name=name)))
    if report["progress"] is None or (
        str(report["progress"]) == mark.get("progress") and (report["step"] or "") == (mark.get("step") or "")
    ):
        return None
    attrs = {k: mark.get(k) for k in ("keep", "volume", "started")}
    try:
        install.set_marker(
            dom, "installing", live=True, progress=report["progress"], step=report["step"], **attrs
        )
    except libvirt.libvirtError:
        if dom.isActive():
            raise
        return None  # it stopped meanwhile: the next look finds it stopped and ends the install
    return event(host, name, "installing", report["progress"], report["step"])


def _failed(conn, dom, host, mark, reason, records_dir):
    name = dom.name()
    kept = mark.get("keep") == "yes"
    if kept:
        attrs = {k: mark.get(k) for k in ("keep", "volume", "started")}
        install.set_marker(dom, "failed", live=False, reason=reason, **attrs)
    else:
        result = lifecycle.delete(conn, dom, name, host, remove_disks=True, test=False)
        log.info("brine_installs: removed %s after its install failed: %s", name, result["comment"])
    install.record_failure(records_dir, name, reason, kept)
    return event(host, name, "failed", reason=reason)


def stopped(conn, dom, host, mark, records_dir):
    """The install event for an install whose domain has stopped, after acting on it."""
    name = dom.name()
    report = install.read_serial(install.read_serial_file(install.SERIAL_LOG.format(name=name)))
    if report["outcome"] != "done":
        reason = report["reason"] or "the installer stopped without reporting that it was done"
        return _failed(conn, dom, host, mark, reason, records_dir)
    install.clear_marker(dom)
    try:
        dom.create()
    except libvirt.libvirtError as err:
        return _failed(
            conn,
            dom,
            host,
            mark,
            f"installed, but it did not start: {libvirt_host.message(err)}",
            records_dir,
        )
    install.forget(records_dir, name)
    return event(host, name, "running", 100, "done")


def check(conn, dom, host, records_dir):
    """
    The install event ``dom`` calls for now, or None: its progress while it installs, its
    outcome once it stopped. Domains without an ``installing`` marker are none of its business.
    """
    try:
        mark = install.marker(dom, inactive=True)
        if not mark or mark.get("state") != "installing":
            return None
        if dom.isActive():
            live = install.marker(dom, inactive=False) or mark
            return progress(dom, host, live)
        return stopped(conn, dom, host, mark, records_dir)
    except libvirt.libvirtError as err:
        if libvirt_host.is_missing(err):
            return None
        raise


def is_installing(dom):
    """Does ``dom`` (still) carry an ``installing`` marker? False once it is gone."""
    try:
        mark = install.marker(dom, inactive=True)
    except libvirt.libvirtError:
        return False
    return bool(mark) and mark.get("state") == "installing"


def installing(conn):
    """The domains on ``conn`` whose marker says they are installing."""
    return [dom for dom in conn.listAllDomains(0) if is_installing(dom)]
