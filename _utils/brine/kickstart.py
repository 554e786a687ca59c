"""
Kickstarts from the project's Jinja2 templates, rendered per VM in a sandbox and checked with
pykickstart (docs/provisioning.md, Kickstart).

``render(template, context)`` checks the context first (``check_context``: every field against a
narrow rule, so no value can start a kickstart line, end an option or a quoted argument, or reach
a shell in ``%post``), renders ``templates/kickstart/<template>.ks.j2`` in Jinja2's immutable
sandbox (user data is data: ``{{7*7}}`` in a value is printed as it is, never evaluated), and
parses the text with pykickstart for the OS variant's version, deprecation warnings included. A
template that renders an invalid kickstart is Brine's bug: ``Refused("internal", ...)``, with
every secret hidden from the sentence.

The rendered text holds the root password hash: it is a secret (the master seals it for the host).
Plans and logs show ``redacted(text)``.

:depends: Jinja2 (Salt's own), pykickstart (on the master)
"""

import os
import re
import warnings

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from brine import kickstart_context
from brine.credentials import check_password_hash
from brine.credentials import check_ssh_key
from brine.credentials import redacted
from brine.errors import Invalid
from brine.errors import Refused

try:
    from pykickstart.errors import KickstartError
    from pykickstart.errors import KickstartParseWarning
    from pykickstart.parser import KickstartParser
    from pykickstart.version import makeVersion
    from pykickstart.version import versionMap

    HAS_PYKICKSTART = True
except ImportError:
    HAS_PYKICKSTART = False

__all__ = [
    "check_context",
    "check_password_hash",
    "check_ssh_key",
    "redacted",
    "render",
    "template_names",
    "version_for",
]

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", "kickstart")
TEMPLATE_SUFFIX = ".ks.j2"


def template_names():
    """The kickstart templates the project ships, by name (file name without ``.ks.j2``)."""
    try:
        files = os.listdir(TEMPLATE_DIR)
    except FileNotFoundError:
        return []
    return sorted(f[: -len(TEMPLATE_SUFFIX)] for f in files if f.endswith(TEMPLATE_SUFFIX))


# osinfo short ids (rhel9.4, centos-stream9, almalinux8, rocky10, ol9.2, fedora40) and the oldest
# major release of each family whose kickstart the templates are written for.
_VERSIONS = [
    (re.compile(r"(?:rhel|centos-stream|centos|almalinux|rocky|ol)(?P<major>\d+)(?:\.\d+)?\Z"), "RHEL{}", 8),
    (re.compile(r"fedora(?P<major>\d+)\Z"), "F{}", 30),
]


def _require_pykickstart():
    if not HAS_PYKICKSTART:
        raise Refused("internal", "pykickstart is not installed where Brine renders kickstarts (the master)")


def version_for(os_variant):
    """The pykickstart version name (``RHEL9``, ``F38``...) for an osinfo short id, else ``Invalid``."""
    for pattern, form, oldest in _VERSIONS:
        match = pattern.match(os_variant) if isinstance(os_variant, str) else None
        if match:
            major = int(match.group("major"))
            version = form.format(major)
            _require_pykickstart()
            if major < oldest or version not in versionMap:
                raise Invalid(f"os_variant {os_variant!r} is a release Brine's kickstarts do not support")
            return version
    raise Invalid(f"os_variant {os_variant!r} has no kickstart version Brine knows (RHEL-like or Fedora)")


def check_context(context):
    """
    The context as the templates read it, each field checked and the defaults filled in
    (docs/provisioning.md, Kickstart; ``brine.kickstart_context.FIELDS`` lists them), plus
    ``version``, the pykickstart version of ``os_variant`` (a checked context checks again to
    itself). ``Invalid`` naming the first field that is missing, unknown or malformed.
    """
    if isinstance(context, dict) and "version" in context:  # a context checked already
        context = {field: value for field, value in context.items() if field != "version"}
    checked = kickstart_context.check(context)
    checked["version"] = version_for(checked["os_variant"])
    return checked


def _no_none(value):
    # A None printed as "None" would be a template bug that still parses.
    if value is None:
        raise jinja2.UndefinedError("a template printed None")
    return value


def _environment(folder):
    """The sandbox the templates run in, loading templates from ``folder`` only."""
    return ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=_no_none,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


_ENVIRONMENT = _environment(TEMPLATE_DIR)


def _sentence(err):
    """An exception's text on one line with every secret hidden (pykickstart quotes lines)."""
    return " ".join(redacted(str(err)).split())


def _render_text(environment, template, context):
    """``template`` rendered in ``environment``; any error of a template is Brine's bug."""
    try:
        return environment.get_template(template + TEMPLATE_SUFFIX).render(context)
    except Exception as err:  # a template's bug, whatever it raises (SecurityError included)
        raise Refused("internal", f"the kickstart template {template!r} failed: {_sentence(err)}") from err


def check_kickstart(text, version):
    """
    Parse ``text`` with pykickstart for ``version`` as ``ksvalidator`` does (every warning, a
    deprecation too, is an error); ``Refused("internal")`` with the problem, secrets hidden.
    """
    _require_pykickstart()
    parser = KickstartParser(makeVersion(version), followIncludes=False, errorsAreFatal=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", KickstartParseWarning)
        try:
            parser.readKickstartFromString(text)
        except (KickstartError, KickstartParseWarning) as err:
            raise Refused(
                "internal", f"Brine rendered a kickstart pykickstart {version} refuses: {_sentence(err)}"
            ) from err


def render(template, context):
    """
    The kickstart text of ``template`` (one of ``template_names()``) for ``context``, checked
    by ``check_context`` and by pykickstart for ``version_for(context["os_variant"])``.
    ``Invalid`` for an unknown template or a bad context; ``Refused("internal")`` when the
    template fails or renders a kickstart pykickstart refuses.
    """
    if not isinstance(template, str) or template not in template_names():
        raise Invalid(f"{template!r} is not a kickstart template: use one of {', '.join(template_names())}")
    checked = check_context(context)
    text = _render_text(_ENVIRONMENT, template, checked)
    check_kickstart(text, checked["version"])
    return text
