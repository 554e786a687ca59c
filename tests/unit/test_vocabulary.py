"""
The one vocabulary of VM states and the actions each allows: one table for host, runner and
browser (this replaces the two contradicting tables the host and web tests each had).
"""

import json
import subprocess

import pytest

from brine import vocabulary
from support.paths import WEB

R, B, P, SD, SO, C, PM, N = (
    "running",
    "blocked",
    "paused",
    "shutdown",
    "shutoff",
    "crashed",
    "pmsuspended",
    "nostate",
)

# action -> the states that allow it; every other state refuses it. The one table.
ALLOWED = {
    "start": {SO, N},
    "shutdown": {R, B, SD},
    "reboot": {R, B},
    "pause": {R, B},
    "resume": {P},
    "force_off": {R, B, P, SD, C, PM},
    "delete": {SO, N},
}

CASES = [(action, state) for action in ALLOWED for state in vocabulary.STATE_NAMES]


@pytest.mark.parametrize("action,state", CASES, ids=[f"{a}-{s}" for a, s in CASES])
def test_each_action_is_allowed_in_exactly_the_states_of_the_table(action, state):
    allowed = state in ALLOWED[action]
    assert vocabulary.allows(action, state) is allowed
    refusal = vocabulary.refusal(action, "lab-vm1", "hv1", state)
    if allowed:
        assert refusal is None
    else:
        code, sentence = refusal
        assert code in {"already_running", "already_off", "already_paused", "not_running", "wrong_state"}
        assert sentence.startswith("lab-vm1 is ") and " on hv1" in sentence


def test_a_crashed_vm_is_forced_off_not_started():
    assert vocabulary.refusal("start", "vm", "hv1", C) == (
        "wrong_state",
        "vm is crashed on hv1, so it cannot be started",
    )
    assert vocabulary.refusal("force_off", "vm", "hv1", C) is None


@pytest.mark.parametrize(
    "action,state,code,sentence",
    [
        ("start", B, "already_running", "vm is already running on hv1"),
        ("start", P, "wrong_state", "vm is paused on hv1; resume it instead of starting it"),
        ("shutdown", SO, "already_off", "vm is already shut off on hv1"),
        ("reboot", SO, "not_running", "vm is not running on hv1; start it instead of rebooting it"),
        ("pause", P, "already_paused", "vm is already paused on hv1"),
        ("resume", SO, "not_running", "vm is shut off on hv1; start it instead of resuming it"),
        ("delete", PM, "wrong_state", "vm is suspended by its guest on hv1; power it off before deleting it"),
    ],
)
def test_refusals_say_what_to_do_instead(action, state, code, sentence):
    assert vocabulary.refusal(action, "vm", "hv1", state) == (code, sentence)


def test_totals_count_every_active_state_crashed_included():
    vms = [
        {"state": R, "vcpus": 2, "memory": 1024},
        {"state": C, "vcpus": 1, "memory": 512},
        {"state": SO, "vcpus": 4, "memory": 4096},
        {"state": PM, "vcpus": None, "memory": None},
    ]
    assert vocabulary.totals(vms) == {
        "vm_count": 4,
        "vms_running": 3,
        "vcpus_allocated": 3,
        "memory_allocated": 1536,
    }


def test_state_and_reason_names_follow_libvirts_enums():
    assert [vocabulary.state_name(i) for i in range(8)] == list(vocabulary.STATE_NAMES)
    assert vocabulary.state_name(99) == vocabulary.state_name("x") == N
    assert vocabulary.reason_name(1, 2) == "migrated"
    assert vocabulary.reason_name(SO, 3) == "crashed"
    assert vocabulary.reason_name(SO, 99) == "unknown"


def test_the_web_app_carries_the_same_vocabulary():
    script = "import('./js/vocabulary.js').then((m) => console.log(JSON.stringify(m.VOCABULARY)))"
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=WEB, capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == json.loads(json.dumps(vocabulary.as_data()))
