"""
Argument checks shared by every Salt face of Brine. Each returns the value in its canonical
form or raises ``brine.errors.Invalid`` (a ``SaltInvocationError``) with a sentence naming the
argument, before anything is touched.

Salt's CLI parses ``123`` as an int and ``true`` as a bool, and salt-api passes strings: the
checks accept each spelling of a valid value and nothing else.

Every number a caller or the configuration gives Brine has an upper limit, in ``LIMITS`` (the
one table: the runner, the host module and the web app's ``web/js/limits.js`` use it, and
``tests/unit/test_limits.py`` proves the web app's copy equal).
"""

import math
import re

from brine.errors import Invalid

# A VM name: no slash, no shell metacharacter, no leading dot or dash (docs/api.md, Names).
VM_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
# A Salt minion id as Brine accepts it for a host (a DNS name, at most 253 characters).
HOST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}")

# The most each number may be, checked before anything starts. Keys name the argument (or the
# configuration key's idea); ``positive_int`` bounds an argument named here by its entry.
LIMITS = {
    # seconds the runner waits for hosts: cluster.inventory(timeout), brine:inventory:timeout
    "inventory_timeout": 300,
    # seconds a host waits for a guest to power off: shutdown(timeout)
    "shutdown_timeout": 3600,
    # seconds a migration may take: brine:migration:timeout
    "migration_timeout": 86400,
    # milliseconds a migrating VM may be paused at the end: max_downtime, brine:migration:max_downtime
    "max_downtime": 60000,
    # MiB/s a migration may use: bandwidth (100 000 MiB/s is about 800 Gbit/s)
    "bandwidth": 100000,
    # seconds a console password lets a VNC client in: hypervisor.console(ttl) (brine.vnc.TTL_MAX)
    "console_ttl": 300,
    # a VM's size, in a catalog profile or a create (docs/provisioning.md): memory, vCPUs, disk
    "memory": 1048576,
    "vcpus": 256,
    "disk": 65536,
}
# What each limit counts, for sentences and the web app.
UNITS = {
    "inventory_timeout": "seconds",
    "shutdown_timeout": "seconds",
    "migration_timeout": "seconds",
    "max_downtime": "milliseconds",
    "bandwidth": "MiB/s",
    "console_ttl": "seconds",
    "memory": "MiB",
    "vcpus": "vCPUs",
    "disk": "GiB",
}

TRUE_WORDS = frozenset(("true", "yes", "on", "1"))
FALSE_WORDS = frozenset(("false", "no", "off", "0"))


def vm_name(name):
    """``name`` as a string if Brine accepts it as a VM name (an int counts as its digits)."""
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not VM_NAME_RE.fullmatch(name):
        raise Invalid(
            f"{name!r} is not a valid VM name: use 1 to 64 letters, digits, '_', '.', '+' "
            "or '-', starting with a letter or digit"
        )
    return name


def host_id(host, argument="target"):
    """``host`` as a string if it can be a hypervisor host's minion id."""
    if not isinstance(host, str) or not HOST_ID_RE.fullmatch(host):
        raise Invalid(
            f"{host!r} is not a valid host name for {argument}: use letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return host


def flag(value, argument):
    """
    ``value`` as a bool from the spellings Salt's CLI and salt-api pass (``True``,
    ``"false"``, ``1``...); anything else is refused, so ``remove_disks="no"`` can never
    mean yes.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise Invalid(f"{argument} must be true or false, not {value!r}")


def at_most(number, limit, argument):
    """``number`` when it is within ``LIMITS[limit]``; Invalid naming ``argument`` otherwise."""
    maximum = LIMITS[limit]
    if number > maximum:
        raise Invalid(f"{argument} must be at most {maximum} {UNITS[limit]}, not {number!r}")
    return number


def seconds(value, argument="timeout", maximum=None):
    """``value`` as a finite number of seconds >= 0 (and <= ``maximum`` when given)."""
    if isinstance(value, bool):
        raise Invalid(f"{argument} must be a number of seconds, not {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{argument} must be a number of seconds, not {value!r}") from None
    if not number >= 0 or not math.isfinite(number):
        raise Invalid(f"{argument} must be 0 or more seconds, not {value!r}")
    if maximum is not None and number > maximum:
        raise Invalid(f"{argument} must be at most {maximum:g} seconds, not {value!r}")
    return number


def positive_int(value, argument, unit, maximum=None):
    """
    ``value`` as a whole number > 0 (and <= ``maximum``, by default ``LIMITS[argument]`` when
    the argument is in the table); None for None or "" (the option is unset). ``unit`` names
    what it counts ("MiB/s").
    """
    if maximum is None:
        maximum = LIMITS.get(argument)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise Invalid(f"{argument} must be a whole number of {unit}, not {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise Invalid(f"{argument} must be a whole number of {unit}, not {value!r}") from None
    if number <= 0:
        raise Invalid(f"{argument} must be more than 0 {unit}, not {value!r}")
    if maximum is not None and number > maximum:
        raise Invalid(f"{argument} must be at most {maximum} {unit}, not {value!r}")
    return number
