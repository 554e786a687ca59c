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

from brine import config
from brine import errors
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


def ext_pillar(minion_id, pillar, confd=None, host=None):
    """
    ``{"landscape": layers}``: the tree's layers with the pillar's own ``landscape`` merged over them, for
    a hypervisor host; ``{}`` for other minions or without a tree; ``{"_errors": [sentence]}``
    when the tree cannot be read.

    CLI Example:

    .. code-block:: bash

        salt hv1 pillar.item landscape
    """
    roles = ((pillar or {}).get("brine") or {}).get("roles") or []
    if ROLE not in roles:
        return {}
    folder, guests_host = settings(__opts__, confd, host)  # the loader's __opts__
    if folder is None:
        return {}
    try:
        layers = landscape_confd.load(folder, guests_host)
    except (errors.Invalid, OSError) as err:
        sentence = getattr(err, "sentence", None) or f"landscape: conf.d {folder} cannot be read: {err}"
        log.error("brine_landscape: %s (for %s)", sentence, minion_id)
        return {"_errors": [f"brine_landscape: {sentence}"]}
    log.debug("brine_landscape: %s guests from %s for %s", len(layers["guests"]), folder, minion_id)
    return {"landscape": landscape.merge(layers, (pillar or {}).get("landscape") or {})}
