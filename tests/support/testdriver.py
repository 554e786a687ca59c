"""libvirt's in-process ``test:///default`` driver in the functional tier: taking a test's
objects away again, whatever state they are in."""

import libvirt


def remove(conn, domains=(), networks=(), pools=()):
    """Undefine ``domains``; stop and undefine ``networks`` and ``pools``; quietly skip what is
    not there."""
    for name in domains:
        try:
            conn.lookupByName(name).undefine()
        except libvirt.libvirtError:
            pass
    lookups = [(conn.networkLookupByName, name) for name in networks]
    lookups += [(conn.storagePoolLookupByName, name) for name in pools]
    for lookup, name in lookups:
        try:
            found = lookup(name)
        except libvirt.libvirtError:
            continue
        if found.isActive():
            found.destroy()
        found.undefine()
