"""
Golden files: a text compared byte for byte with its file, which ``BRINE_REGEN_GOLDEN=1``
writes first (after a deliberate change; review the diff before committing), and libvirt's
``virt-xml-validate`` for the XML ones.
"""

import os
import shutil
import subprocess
from pathlib import Path

REGEN_ENV = "BRINE_REGEN_GOLDEN"
VIRT_XML_VALIDATE = "/usr/bin/virt-xml-validate"
# virt-xml-validate's schema for each kind of libvirt XML (libvirt's storagepool.rng for pools).
SCHEMAS = {"network": "network", "pool": "storagepool", "domain": "domain"}


def compare(path, text):
    """``text`` equals the golden file at ``path`` (written first when regenerating)."""
    path = Path(path)
    if os.environ.get(REGEN_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    assert path.read_bytes() == text.encode(), f"{path} differs (BRINE_REGEN_GOLDEN=1 rewrites it)"


def virt_xml_validate(path, kind):
    """libvirt's own schema check of the ``kind`` (network, pool, domain) XML at ``path``."""
    assert Path(VIRT_XML_VALIDATE).exists(), "libvirt's virt-xml-validate is not installed (libvirt-clients)"
    assert shutil.which("xmllint"), "virt-xml-validate needs xmllint (Debian's libxml2-utils)"
    return subprocess.run(
        [VIRT_XML_VALIDATE, str(path), SCHEMAS[kind]], capture_output=True, text=True, timeout=60, check=False
    )
