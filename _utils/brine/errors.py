"""
Errors that carry a code beside the sentence, from host to runner to browser.

A Brine function refuses with ``Invalid`` (bad arguments, raised before anything is touched:
a ``SaltInvocationError``) or ``Refused`` (the system says no: a ``CommandExecutionError``).
Both read ``[<code>] <sentence>`` as text, which is all a Salt job return can carry of an
exception; ``parse`` gets ``(code, sentence)`` back out of any text Salt wraps around it.
Code decides on the code (``no_vm``, ``not_running``, ...); people read the sentence.
"""

import re

from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

# Every code Brine sends, with what it means. The web app reads codes only from this list
# (web/js/errors.js CODES; tests/unit/test_errors.py proves the two equal).
CODES = {
    "invalid_argument": "an argument is malformed or out of range",
    "no_vm": "no VM of that name where it was looked for",
    "ambiguous_vm": "a VM of that name is defined on more than one host",
    "no_host": "no hypervisor host of that name",
    "unreachable": "a host did not answer in time",
    "host_error": "a host answered with something Brine does not understand",
    "libvirt_unavailable": "the host's libvirtd cannot be reached",
    "libvirt_error": "libvirt refused the operation",
    "already_running": "the VM is already running",
    "already_off": "the VM is already shut off",
    "already_paused": "the VM is already paused",
    "not_running": "the VM is not running",
    "wrong_state": "the VM's state does not allow the action",
    "timeout": "the operation did not finish in time",
    "no_console": "the VM has no console Brine can open",
    "migration_refused": "the target cannot take the VM",
    "migration_busy": "the VM is already being migrated",
    "migration_failed": "the migration did not complete",
    "no_migration": "no migration of that VM is in progress",
    "no_entry": "no catalog entry of that name and kind",
    "in_use": "the catalog entry is used by others",
    "vm_exists": "a VM of that name already exists",
    "no_room": "no host can take the VM",
    "install_failed": "the install did not complete",
    "no_network": "no libvirt network of that name on the host",
    "no_pool": "no storage pool of that name on the host",
    "docker_unavailable": "the host's Docker engine cannot be reached",
    "docker_error": "Docker refused the operation",
    "no_container": "no container of that name on the host",
    "container_exists": "a container of that name already exists on the host",
    "port_in_use": "a host port asked for is already in use",
    "no_image": "the image is neither on the host nor in the registry",
    "internal": "Brine hit an unexpected problem",
}

CODE_RE = re.compile(r"\[([a-z][a-z_]{1,39})\] ")


def _checked(code):
    if code not in CODES:
        raise ValueError(f"unknown Brine error code {code!r}")
    return code


class Invalid(SaltInvocationError):
    """A bad argument: refused before anything is touched."""

    def __init__(self, sentence, code="invalid_argument"):
        self.code = _checked(code)
        self.sentence = sentence
        super().__init__(f"[{self.code}] {sentence}")


class Refused(CommandExecutionError):
    """The system says no, or an operation failed: a sentence a person understands."""

    def __init__(self, code, sentence):
        self.code = _checked(code)
        self.sentence = sentence
        super().__init__(f"[{self.code}] {sentence}")


def parse(text):
    """
    ``(code, sentence)`` from a text that carries ``[<code>] <sentence>`` on a line of its
    own or after what Salt puts before it (``ERROR: ``, ``ERROR executing '<fun>': ``, an
    exception's class name at the end of a traceback). The sentence is what follows the
    code on that line. The last coded line wins, since a traceback ends with the exception
    that was raised. Without a code: ``(None, text)``, stripped.
    """
    text = "" if text is None else str(text).strip()
    found = None
    for line in text.splitlines():
        match = CODE_RE.search(line)
        if match:
            found = (match.group(1), line[match.end() :].strip())
    if found and found[0] in CODES:
        return found
    return None, text


def of(exc):
    """The code of an exception: its own, one parsed from its text, or None."""
    code = getattr(exc, "code", None)
    if code in CODES:
        return code
    return parse(str(exc))[0]
