"""
A miniascape ``conf.d`` tree as the site's pillar
=================================================

Hypervisor hosts get the site (docs/site.md) as pillar ``site``. A site that kept its networks,
pools and guests in a miniascape ``conf.d`` tree uses it as it is: this ext_pillar reads the tree
(``brine.site_confd``) into the site's layers, and the pillar's own ``site`` merges over them
(``brine.site.merge``: dicts recursively, lists whole, ``null`` removes a key). Only minions
whose pillar has ``hypervisor`` in ``brine:roles`` get it.

A tree Brine cannot read (a file that is not YAML or not a mapping, a symlink, a META glob
leaving the tree) is logged and reported as the minion's pillar error (``_errors``), so states
stop rather than act on half a site. The tree is read with ``yaml.safe_load`` only.

:depends: Brine's library (``_utils/brine``) in the master's ``utils_dirs``; this module synced
    to the master with ``salt-run saltutil.sync_pillar`` (or under ``extension_modules``)
:configuration: master config: the tree and the host its guests run on, and the pillar enabled
    (its options, when given, win over ``brine:site:confd`` and ``brine:site:host``).

.. code-block:: yaml

    brine:
      site:
        confd: /srv/miniascape/conf.d   # default "": no tree
        host: hv1                       # default "": the guests say their host
    ext_pillar:
      - brine_site: {}
"""

import logging

from brine import config
from brine import errors
from brine import site
from brine import site_confd

log = logging.getLogger(__name__)

__virtualname__ = "brine_site"

ROLE = "hypervisor"


def __virtual__():
    return __virtualname__


def settings(opts, confd=None, host=None):
    """``(confd, host)``: the options given, else ``brine:site:confd`` and ``brine:site:host``."""
    lookup = config.master_lookup(opts)
    confd = confd or config.get("site:confd", lookup)
    host = host or config.get("site:host", lookup)
    return confd or None, host or None


def ext_pillar(minion_id, pillar, confd=None, host=None):
    """
    ``{"site": layers}``: the tree's layers with the pillar's own ``site`` merged over them, for
    a hypervisor host; ``{}`` for other minions or without a tree; ``{"_errors": [sentence]}``
    when the tree cannot be read.

    CLI Example:

    .. code-block:: bash

        salt hv1 pillar.item site
    """
    roles = ((pillar or {}).get("brine") or {}).get("roles") or []
    if ROLE not in roles:
        return {}
    folder, guests_host = settings(__opts__, confd, host)  # the loader's __opts__
    if folder is None:
        return {}
    try:
        layers = site_confd.load(folder, guests_host)
    except (errors.Invalid, OSError) as err:
        sentence = getattr(err, "sentence", None) or f"site: conf.d {folder} cannot be read: {err}"
        log.error("brine_site: %s (for %s)", sentence, minion_id)
        return {"_errors": [f"brine_site: {sentence}"]}
    log.debug("brine_site: %s guests from %s for %s", len(layers["guests"]), folder, minion_id)
    return {"site": site.merge(layers, (pillar or {}).get("site") or {})}
