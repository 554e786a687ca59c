"""
A miniascape ``conf.d`` tree as the landscape's pillar
=================================================

Hypervisor hosts get the landscape (docs/landscape.md) as pillar ``landscape``. A site that kept
its networks, pools and guests in a miniascape ``conf.d`` tree uses it as it is: this ext_pillar
reads the tree
(``brine.landscape_confd``) into the landscape's layers, and the pillar's own ``landscape`` merges over them
(``brine.landscape.merge``: dicts recursively, lists whole, ``null`` removes a key). Only minions
whose pillar has ``hypervisor`` in ``brine:roles`` get it.

A tree Brine cannot read (a file that is not YAML or not a mapping, a symlink, a META glob
leaving the tree) is logged and reported as the minion's pillar error (``_errors``), so states
stop rather than act on half a landscape. The tree is read with ``yaml.safe_load`` only.

:depends: Brine's library (``_utils/brine``) in the master's ``utils_dirs``; this module synced
    to the master with ``salt-run saltutil.sync_pillar`` (or under ``extension_modules``)
:configuration: master config: the tree and the host its guests run on, and the pillar enabled
    (its options, when given, win over ``brine:landscape:confd`` and ``brine:landscape:host``).

.. code-block:: yaml

    brine:
      landscape:
        confd: /srv/miniascape/conf.d   # default "": no tree
        host: hv1                       # default "": the guests say their host
    ext_pillar:
      - brine_landscape: {}
"""

import logging

import salt.cache

from brine import config
from brine import errors
from brine import hostmap
from brine import landscape
from brine import landscape_confd

log = logging.getLogger(__name__)

__virtualname__ = "brine_landscape"

ROLE = "hypervisor"


def __virtual__():
    return __virtualname__


def settings(opts, confd=None, host=None):
    """``(confd, host)``: the options given, else ``brine:landscape:confd`` and ``brine:landscape:host``."""
    lookup = config.master_lookup(opts)
    confd = confd or config.get("landscape:confd", lookup)
    host = host or config.get("landscape:host", lookup)
    return confd or None, host or None


def _elsewhere(minion_id, layers):
    """``{guest: [other hosts]}`` of the landscape's guests the master's VM map (the cluster
    runner's, kept by inventories and migrations) last saw on a host other than ``minion_id``."""
    names = sorted((layers.get("guests") or {}) if isinstance(layers, dict) else [])
    if not names:
        return {}
    return hostmap.elsewhere(names, hostmap.read(salt.cache.factory(__opts__)), minion_id)


def ext_pillar(minion_id, pillar, confd=None, host=None):
    """
    For a hypervisor host: ``{"landscape": layers}``, the tree's layers with the pillar's own
    ``landscape`` merged over them (when there is a tree), and ``{"brine": {"landscape_elsewhere":
    {guest: [hosts]}}}`` for the landscape's guests the master last saw on another host (a guest
    migrated away is not made again here); ``{}`` for other minions;
    ``{"_errors": [sentence]}`` when the tree cannot be read.

    CLI Example:

    .. code-block:: bash

        salt hv1 pillar.item landscape brine:landscape_elsewhere
    """
    roles = ((pillar or {}).get("brine") or {}).get("roles") or []
    if ROLE not in roles:
        return {}
    own = (pillar or {}).get("landscape") or {}
    folder, guests_host = settings(__opts__, confd, host)  # the loader's __opts__
    found = {}
    layers = own
    if folder is not None:
        try:
            tree = landscape_confd.load(folder, guests_host)
        except (errors.Invalid, OSError) as err:
            sentence = getattr(err, "sentence", None) or f"landscape: conf.d {folder} cannot be read: {err}"
            log.error("brine_landscape: %s (for %s)", sentence, minion_id)
            return {"_errors": [f"brine_landscape: {sentence}"]}
        log.debug("brine_landscape: %s guests from %s for %s", len(tree["guests"]), folder, minion_id)
        layers = landscape.merge(tree, own)
        found["landscape"] = layers
    elsewhere = _elsewhere(minion_id, layers)
    if elsewhere:
        found["brine"] = {"landscape_elsewhere": elsewhere}
    return found
