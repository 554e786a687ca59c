"""
Brine's one configuration namespace, ``brine:<area>:<key>``, read through one helper.

Every runtime key is listed in ``KEYS`` with its default and where it is read; each is
documented in ``pillar/pillar.example`` with the same default (``tests/unit/test_config.py``
keeps the two equal). Hosts read keys with Salt's ``config.get`` (minion config, grains or
pillar); the master reads its own configuration, then its pillar.
"""

import salt.utils.data

# key (under brine:) -> (default, where it is read)
KEYS = {
    "inventory:timeout": (10, "master"),
    "console:token_dir": ("/run/brine/console-tokens", "master"),
    "console:address": (None, "host"),
    "console:ports": ([5900, 5999], "master"),
    "console:record": ("/var/log/brine/consoles.log", "master"),
    "migration:timeout": (1800, "master"),
    "migration:uri": ("qemu+tls://{host}/system", "host"),
    "migration:tls": (True, "host"),
    "migration:max_downtime": (None, "host"),
    "migration:unsafe_shared_storage": ([], "host"),
    "capacity:reserved_memory": (1048576, "host"),
    "capacity:vcpu_ratio": (4, "host"),
    "provision:catalog_dir": ("/srv/brine-catalog", "master"),
    "provision:virt_type": ("kvm", "host"),
    "landscape:confd": ("", "master"),
    "landscape:host": ("", "master"),
    "containers:registry": (None, "master, host"),
    "containers:registry_url": (None, "master"),
    "stream:listen": ("127.0.0.1:8001", "master"),
    "stream:salt_api": ("http://127.0.0.1:8000", "master"),
    "stream:queue_size": (1000, "master"),
    "stream:keepalive": (15, "master"),
}


def default(key):
    return KEYS[key][0]


def get(key, lookup):
    """
    The value of ``brine:<key>``: what ``lookup("brine:<key>")`` finds, else the key's
    default. ``None`` and ``""`` count as unset. ``lookup`` is the caller's reader: on a host
    ``__salt__["config.get"]``, on the master ``master_lookup(__opts__, __pillar__)``.
    """
    if key not in KEYS:
        raise KeyError(f"brine:{key} is not one of Brine's configuration keys")
    value = lookup(f"brine:{key}")
    return default(key) if value in (None, "") else value


def master_lookup(opts, pillar=None):
    """A reader for ``get`` on the master: its configuration first, then its pillar."""

    def lookup(path):
        for source in (opts or {}, pillar or {}):
            value = salt.utils.data.traverse_dict_and_list(source, path, None)
            if value not in (None, ""):
                return value
        return None

    return lookup
