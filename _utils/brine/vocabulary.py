"""
Brine's one vocabulary of VM states and the lifecycle actions each allows.

This is the single source: the host module refuses with it, the runner and the engine name
states with it, and the web app's ``web/js/vocabulary.js`` carries the same table
(``tests/unit/test_vocabulary.py`` runs node to prove the two equal). Totals over VMs are
computed here only, with one definition of "active".
"""

# libvirt's virDomainState values, in enum order.
STATE_NAMES = (
    "nostate",
    "running",
    "blocked",
    "paused",
    "shutdown",
    "shutoff",
    "crashed",
    "pmsuspended",
)

# libvirt's per-state reason enums (virDomainRunningReason, virDomainPausedReason, ...),
# in enum order. Written out rather than derived from the binding's constants because
# some prefixes collide with unrelated flags (VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN, ...).
REASON_NAMES = {
    "nostate": ("unknown",),
    "running": (
        "unknown",
        "booted",
        "migrated",
        "restored",
        "from_snapshot",
        "unpaused",
        "migration_canceled",
        "save_canceled",
        "wakeup",
        "crashed",
        "postcopy",
        "postcopy_failed",
    ),
    "blocked": ("unknown",),
    "paused": (
        "unknown",
        "user",
        "migration",
        "save",
        "dump",
        "ioerror",
        "watchdog",
        "from_snapshot",
        "shutting_down",
        "snapshot",
        "crashed",
        "starting_up",
        "postcopy",
        "postcopy_failed",
        "api_error",
    ),
    "shutdown": ("unknown", "user"),
    "shutoff": (
        "unknown",
        "shutdown",
        "destroyed",
        "crashed",
        "migrated",
        "saved",
        "failed",
        "from_snapshot",
        "daemon",
    ),
    "crashed": ("unknown", "panicked"),
    "pmsuspended": ("unknown",),
}

# States in which the domain has a live QEMU process (libvirt calls it "active"): it holds
# its host's CPUs and memory. A crashed domain kept for inspection (on_crash=preserve) does.
ACTIVE_STATES = frozenset(("running", "blocked", "paused", "shutdown", "crashed", "pmsuspended"))
# "blocked" is a running domain waiting on a resource.
RUNNING_STATES = frozenset(("running", "blocked"))

# How a state reads in a sentence ("lab-vm1 is paused on hv1").
STATE_PHRASES = {
    "nostate": "in no known state",
    "running": "running",
    "blocked": "running",
    "paused": "paused",
    "shutdown": "shutting down",
    "shutoff": "shut off",
    "crashed": "crashed",
    "pmsuspended": "suspended by its guest",
}

# The lifecycle actions and the states in which each is allowed, in the order the UI shows
# them. Force off applies while an ACPI shutdown is in progress, to a suspended guest and to
# a crashed one kept for inspection: that is when a stuck guest needs it most. Shut down may
# be asked again while a guest is already shutting down (the ACPI button is pressed again).
ACTIONS = {
    "start": frozenset(("shutoff", "nostate")),
    "shutdown": RUNNING_STATES | {"shutdown"},
    "reboot": RUNNING_STATES,
    "pause": RUNNING_STATES,
    "resume": frozenset(("paused",)),
    "force_off": ACTIVE_STATES,
    "delete": frozenset(("shutoff", "nostate")),
}


def state_name(state):
    """The word for a libvirt ``virDomainState`` value; ``nostate`` for values libvirt may add."""
    if isinstance(state, int) and 0 <= state < len(STATE_NAMES):
        return STATE_NAMES[state]
    return "nostate"


def reason_name(state, reason):
    """The word for libvirt's reason code of ``state`` (a state word or a value)."""
    if not isinstance(state, str):
        state = state_name(state)
    reasons = REASON_NAMES.get(state, ("unknown",))
    if isinstance(reason, int) and 0 <= reason < len(reasons):
        return reasons[reason]
    return "unknown"


def is_active(state):
    return state in ACTIVE_STATES


def allows(action, state):
    """Does ``action`` make sense for a VM in ``state``?"""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    return state in ACTIONS[action]


def refusal(action, name, host, state):
    """
    ``(code, sentence)`` refusing ``action`` on VM ``name`` in ``state`` on ``host``, or
    None when the action is allowed (exactly when ``allows(action, state)``).
    """
    if allows(action, state):
        return None
    phrase = STATE_PHRASES.get(state, state)
    specific = _SPECIFIC_REFUSALS.get((action, state))
    if specific is None and state == "blocked":
        specific = _SPECIFIC_REFUSALS.get((action, "running"))
    if specific is not None:
        code, template = specific
        return code, template.format(name=name, host=host)
    return "wrong_state", _GENERAL_REFUSALS[action].format(name=name, host=host, phrase=phrase)


_GENERAL_REFUSALS = {
    "start": "{name} is {phrase} on {host}, so it cannot be started",
    "shutdown": "{name} is {phrase} on {host}, so it cannot be shut down",
    "reboot": "{name} is {phrase} on {host}, so it cannot be rebooted",
    "pause": "{name} is {phrase} on {host}, so it cannot be paused",
    "resume": "{name} is {phrase} on {host}, so it cannot be resumed",
    "force_off": "{name} is {phrase} on {host}, so it cannot be powered off",
    "delete": "{name} is {phrase} on {host}; power it off before deleting it",
}

_SPECIFIC_REFUSALS = {
    ("start", "running"): ("already_running", "{name} is already running on {host}"),
    ("start", "paused"): (
        "wrong_state",
        "{name} is paused on {host}; resume it instead of starting it",
    ),
    ("shutdown", "shutoff"): ("already_off", "{name} is already shut off on {host}"),
    ("shutdown", "paused"): (
        "wrong_state",
        "{name} is paused on {host}; resume it before shutting it down, or force it off",
    ),
    ("force_off", "shutoff"): ("already_off", "{name} is already shut off on {host}"),
    ("reboot", "shutoff"): (
        "not_running",
        "{name} is not running on {host}; start it instead of rebooting it",
    ),
    ("pause", "paused"): ("already_paused", "{name} is already paused on {host}"),
    ("pause", "shutoff"): ("not_running", "{name} is not running on {host}, so it cannot be paused"),
    ("resume", "running"): ("already_running", "{name} is already running on {host}"),
    ("resume", "shutoff"): (
        "not_running",
        "{name} is shut off on {host}; start it instead of resuming it",
    ),
}


def totals(vms):
    """
    Counts and sums over VM dicts: every VM, and the CPUs and memory of the active ones
    (the one definition of what a VM holds of its host, used by host, runner and browser).
    """
    active = [vm for vm in vms if vm.get("state") in ACTIVE_STATES]
    return {
        "vm_count": len(vms),
        "vms_running": len(active),
        "vcpus_allocated": sum(vm.get("vcpus") or 0 for vm in active),
        "memory_allocated": sum(vm.get("memory") or 0 for vm in active),
    }


def as_data():
    """The vocabulary as plain data, in the shape ``web/js/vocabulary.js`` exports."""
    return {
        "states": {
            state: {
                "phrase": STATE_PHRASES[state],
                "active": state in ACTIVE_STATES,
                "running": state in RUNNING_STATES,
            }
            for state in STATE_NAMES
        },
        "actions": {action: sorted(states) for action, states in ACTIONS.items()},
    }
