"""
The worked landscape of pillar/pillar.example, as each of its hosts (hv1, hv2) gets it: every
network, pool and guest definition the landscape formula makes there (``brine.landscape.host_picture``
→ ``brine.landscape_xml``), compared with its golden file under tests/unit/files/landscape/worked/ and
checked by libvirt's ``virt-xml-validate``. The golden files are what a landscape reviews when its
pillar changes.

    BRINE_REGEN_GOLDEN=1 .venv/bin/pytest -q tests/unit/test_landscape_worked_xml.py
    git diff tests/unit/files/landscape/worked/
"""

from pathlib import Path

import pytest
import yaml

from brine import landscape
from brine import landscape_xml
from support.golden import compare
from support.golden import virt_xml_validate
from support.paths import REPO

GOLDEN = Path(__file__).resolve().parent / "files" / "landscape" / "worked"
WORKED = yaml.safe_load((REPO / "pillar" / "pillar.example").read_text())["landscape"]
HOSTS = ("hv1", "hv2")


def _cases():
    cases = {}
    for host in HOSTS:
        picture = landscape.host_picture(WORKED, host)
        for name, net in picture["networks"].items():
            cases[f"{host}/network-{name}"] = ("network", lambda net=net: landscape_xml.network_xml(net))
        for name, pool in picture["pools"].items():
            cases[f"{host}/pool-{name}"] = ("pool", lambda pool=pool: landscape_xml.pool_xml(pool))
        for name, guest in picture["guests"].items():
            cases[f"{host}/domain-{name}"] = (
                "domain",
                lambda guest=guest: landscape_xml.domain_xml(guest, "kvm"),
            )
    return cases


CASES = _cases()


def test_the_worked_landscape_has_three_networks_two_pools_and_six_guests():
    networks = {case.split("-", 1)[1] for case in CASES if "/network-" in case}
    pools = {case.split("-", 1)[1] for case in CASES if "/pool-" in case}
    guests = {case.split("/domain-")[1] for case in CASES if "/domain-" in case}
    assert len(networks) == 3 and len(pools) == 2 and len(guests) == 6, (networks, pools, guests)


def test_every_golden_file_has_a_case():
    found = sorted(f"{p.parent.name}/{p.stem}" for p in GOLDEN.glob("*/*.xml"))
    assert found == sorted(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_xml_equals_its_golden_file_and_libvirt_accepts_it(case):
    kind, make = CASES[case]
    path = GOLDEN / f"{case}.xml"
    compare(path, make())
    result = virt_xml_validate(path, kind)
    assert result.returncode == 0, result.stdout + result.stderr
