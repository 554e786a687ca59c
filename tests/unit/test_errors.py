"""Error codes: raised with a code, read back out of whatever Salt wraps around them."""

import json
import re
import subprocess

import pytest
from salt.exceptions import CommandExecutionError
from salt.exceptions import SaltInvocationError

from brine import errors
from support.paths import REPO
from support.paths import WEB


def test_refused_is_a_command_execution_error_that_reads_code_then_sentence():
    exc = errors.Refused("no_vm", "lab-vm9 is not defined on hv1")
    assert isinstance(exc, CommandExecutionError)
    assert (exc.code, exc.sentence) == ("no_vm", "lab-vm9 is not defined on hv1")
    assert str(exc) == "[no_vm] lab-vm9 is not defined on hv1"


def test_invalid_is_a_salt_invocation_error_with_the_invalid_argument_code():
    exc = errors.Invalid("timeout must be 0 or more seconds, not -1")
    assert isinstance(exc, SaltInvocationError)
    assert exc.code == "invalid_argument"
    assert str(exc).startswith("[invalid_argument] timeout must")


def test_an_unknown_code_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown Brine error code"):
        errors.Refused("no_such_code", "whatever")


@pytest.mark.parametrize(
    "text",
    [
        "[not_running] lab-vm3 is shut off on hv1; start it instead of resuming it",
        "ERROR: [not_running] lab-vm3 is shut off on hv1; start it instead of resuming it",
        "ERROR executing 'hypervisor.resume': [not_running] lab-vm3 is shut off on hv1; "
        "start it instead of resuming it",
        "Exception occurred in runner cluster.resume: Traceback (most recent call last):\n"
        '  File "/x/cluster.py", line 3, in resume\n    raise Refused(...)\n'
        "salt.exceptions.CommandExecutionError: [not_running] lab-vm3 is shut off on hv1; "
        "start it instead of resuming it\n",
    ],
    ids=["bare", "minion error", "minion invocation error", "runner traceback"],
)
def test_parse_finds_the_code_whatever_salt_wrapped_around_it(text):
    assert errors.parse(text) == (
        "not_running",
        "lab-vm3 is shut off on hv1; start it instead of resuming it",
    )


def test_parse_without_a_code_keeps_the_text_and_never_guesses_from_words():
    assert errors.parse("  ERROR: no VM named lab-vm9 on hv1 ") == (None, "ERROR: no VM named lab-vm9 on hv1")
    # A bracketed word that is not one of Brine's codes is not a code.
    assert errors.parse("[sic] no domain here")[0] is None


def test_of_reads_an_exceptions_own_code_or_its_text():
    assert errors.of(errors.Refused("timeout", "took too long")) == "timeout"
    assert errors.of(CommandExecutionError("hv1: [no_vm] gone")) == "no_vm"
    assert errors.of(CommandExecutionError("plain")) is None


def test_the_web_app_knows_exactly_the_codes_python_sends():
    script = "import('./js/errors.js').then((m) => console.log(JSON.stringify(m.ERROR_CODES)))"
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=WEB, capture_output=True, text=True, check=True
    ).stdout
    assert sorted(json.loads(out)) == sorted(errors.CODES)


def test_docs_api_lists_exactly_the_codes():
    text = (REPO / "docs" / "api.md").read_text()
    section = text[text.index("## Errors") : text.index("## Names")]
    listed = re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", section, re.MULTILINE)
    assert dict(listed) == errors.CODES
