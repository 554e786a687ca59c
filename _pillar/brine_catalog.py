"""
Brine's provisioning catalog as pillar
======================================

States read the catalog the runner keeps (docs/provisioning.md, The catalog) as pillar, under
``brine:catalog:<kind>``: ``{"brine": {"catalog": {kind: {name: fields}}}}``, every kind
present (an empty mapping when it has no entries). The catalog holds no secret (URLs carry no
credentials, passwords are never in it), so every minion gets the same data.

The files are read through ``brine.catalog_store`` under the catalog's shared lock, so a pillar
never sees half a change. A catalog file that is not a catalog (broken by a hand edit) fails
this pillar with a sentence naming the file, which Salt reports in the minion's pillar errors:
states then stop rather than act on a catalog that is not there.

:depends: Brine's library (``_utils/brine``) in the master's ``utils_dirs``; this module synced
    to the master with ``salt-run saltutil.sync_pillar`` (or under ``extension_modules``)
:configuration: master config: the folder, and the pillar enabled.

.. code-block:: yaml

    brine:
      provision:
        catalog_dir: /srv/brine-catalog   # the default
    ext_pillar:
      - brine_catalog: {}
"""

import logging

from brine import catalog
from brine import catalog_store
from brine import config

log = logging.getLogger(__name__)

__virtualname__ = "brine_catalog"


def __virtual__():
    return __virtualname__


def catalog_dir(opts):
    """The catalog's folder: ``brine:provision:catalog_dir`` from the master's configuration."""
    return config.get("provision:catalog_dir", config.master_lookup(opts))


def ext_pillar(minion_id, pillar, *args, **kwargs):  # pylint: disable=unused-argument
    """
    ``{"brine": {"catalog": {kind: {name: fields}}}}`` from the catalog folder, the same for
    every minion. Takes no options of its own.

    CLI Example:

    .. code-block:: bash

        salt hv1 pillar.item brine:catalog
    """
    directory = catalog_dir(__opts__)  # the loader's __opts__
    content = catalog_store.Store(directory).read()
    log.debug(
        "brine_catalog: %s entries from %s for %s", sum(map(len, content.values())), directory, minion_id
    )
    return {"brine": {"catalog": {kind: content.get(kind, {}) for kind in catalog.KINDS}}}
