"""
Kickstarts from the project's Jinja2 templates, rendered per VM in a sandbox and checked with
pykickstart (docs/provisioning.md, Kickstart). SKELETON: the interface the catalog uses; the
renderer is being written.
"""

import os
import re

from brine.errors import Invalid

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", "kickstart")
TEMPLATE_SUFFIX = ".ks.j2"


def template_names():
    """The kickstart templates the project ships, by name (file name without ``.ks.j2``)."""
    try:
        files = os.listdir(TEMPLATE_DIR)
    except FileNotFoundError:
        return []
    return sorted(f[: -len(TEMPLATE_SUFFIX)] for f in files if f.endswith(TEMPLATE_SUFFIX))


_VERSIONS = [
    (re.compile(r"(rhel|centos-stream|almalinux|rocky|ol)(\d+)(\.\d+)?\Z"), "RHEL{}"),
    (re.compile(r"fedora(\d+)\Z"), "F{}"),
]


def version_for(os_variant):
    """The pykickstart version name (``RHEL9``, ``F38``...) for an osinfo short id, else ``Invalid``."""
    for pattern, form in _VERSIONS:
        match = pattern.match(os_variant or "")
        if match:
            return form.format(match.group(2) if match.lastindex >= 2 else match.group(1))
    raise Invalid(f"os_variant {os_variant!r} has no kickstart version Brine knows (RHEL-like or Fedora)")
