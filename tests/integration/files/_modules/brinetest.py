"""
Test-only helper synced to the integration tests' minions, never to real hosts.

libvirt's ``test:///default`` driver keeps its state (a running domain named
``test``, plus whatever tests define) only while a connection to it is open in
the process. The hypervisor module opens and closes one connection per call,
so without help every job would see a fresh driver. With the minion running
jobs in threads (``multiprocessing: False``), ``hold()`` keeps one connection
open in the minion process, so a shutdown done through Brine is still visible
to the next job. The other functions read and set state directly through
libvirt, so tests can check what Brine did without trusting Brine.
"""

import libvirt

# Brine's library, synced to the minion before this module (saltutil.sync_utils), as for hypervisor.
from brine import signing

# Kept on the libvirt module itself: it outlives Salt reloading this module.
_HOLD = "_brinetest_connection"

_DOMAIN_XML = """
<domain type="test">
  <name>{name}</name>
  <memory unit="KiB">131072</memory>
  <vcpu>1</vcpu>
  <os><type arch="x86_64">hvm</type></os>
</domain>
"""


def _conn():
    conn = getattr(libvirt, _HOLD, None)
    if conn is None or not conn.isAlive():
        conn = libvirt.open(__salt__["config.get"]("virt:connection:uri"))  # noqa: F821  (a Salt loader module)
        setattr(libvirt, _HOLD, conn)
    return conn


def hold():
    """
    Keep the test driver's state for the life of the minion process.

    CLI Example:

    .. code-block:: bash

        salt hv1 brinetest.hold
    """
    return _conn().getURI()


def state(name):
    """
    The libvirt state of domain ``name`` as a word, or ``"undefined"``.

    CLI Example:

    .. code-block:: bash

        salt hv1 brinetest.state test
    """
    try:
        dom = _conn().lookupByName(name)
    except libvirt.libvirtError:
        return "undefined"
    words = {
        libvirt.VIR_DOMAIN_RUNNING: "running",
        libvirt.VIR_DOMAIN_PAUSED: "paused",
        libvirt.VIR_DOMAIN_SHUTOFF: "shutoff",
    }
    return words.get(dom.state()[0], str(dom.state()[0]))


def define(name):
    """
    Define a shut-off domain ``name`` (if it is not defined yet).

    CLI Example:

    .. code-block:: bash

        salt hv1 brinetest.define scratch
    """
    if state(name) == "undefined":
        _conn().defineXML(_DOMAIN_XML.format(name=name))
    return state(name)


def ensure_running(name):
    """
    Bring domain ``name`` back to running, whatever a test left it in.

    CLI Example:

    .. code-block:: bash

        salt hv1 brinetest.ensure_running test
    """
    dom = _conn().lookupByName(name)
    current = state(name)
    if current == "paused":
        dom.resume()
    elif current != "running":
        dom.create()
    return state(name)


def undefine(name):
    """
    Remove domain ``name`` if a test left it behind.

    CLI Example:

    .. code-block:: bash

        salt hv1 brinetest.undefine scratch
    """
    if state(name) != "undefined":
        dom = _conn().lookupByName(name)
        if dom.isActive():
            dom.destroy()
        dom.undefine()
    return state(name)


def send(tag, data):
    """
    Send a Brine event as Brine's host modules and engine do: signed with this minion's key
    (``brine.signing``), then ``event.send``.

    CLI Example:

    .. code-block:: bash

        salt hv1 brinetest.send brine/host/hv1/resync '{"host": "hv1", "reason": "test"}'
    """
    return signing.minion_sender(__salt__["event.send"], __opts__)(tag, data)  # noqa: F821
