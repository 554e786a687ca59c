"""One configuration namespace: every runtime key in config.KEYS, documented with its default."""

import re

import pytest
import yaml

from brine import config
from support.paths import REPO

PRODUCT_FOLDERS = ("_modules", "_runners", "_engines", "_pillar", "_utils", "console")
# Keys that are not runtime settings: the role pillar the runners target, the formula's own
# pillar (documented with the formula defaults) and the catalog the brine_catalog ext_pillar
# serves (data, documented in docs/provisioning.md), and the landscape's guests seen on another
# host, which the brine_landscape ext_pillar serves (data, docs/landscape.md).
NOT_RUNTIME = ("roles", "master", "catalog", "landscape_elsewhere", "vcluster")


def documented():
    return yaml.safe_load((REPO / "pillar" / "pillar.example").read_text())["brine"]


@pytest.mark.parametrize("key", sorted(config.KEYS))
def test_every_key_is_in_pillar_example_with_its_default(key):
    node = documented()
    for part in key.split(":"):
        assert isinstance(node, dict) and part in node, f"pillar.example lacks brine:{key}"
        node = node[part]
    assert node == config.default(key), f"pillar.example documents brine:{key} as {node!r}"


def test_pillar_example_documents_no_runtime_key_the_code_does_not_read():
    def leaves(data, prefix=""):
        for name, value in data.items():
            path = f"{prefix}{name}"
            if isinstance(value, dict) and value:
                yield from leaves(value, f"{path}:")
            else:
                yield path

    runtime = {k: v for k, v in documented().items() if k not in NOT_RUNTIME}
    assert set(leaves(runtime)) == set(config.KEYS)


def test_the_code_reads_no_brine_key_outside_the_table():
    pattern = re.compile(r"""["'`]brine:([a-z_]+(?::[a-z_]+)*)""")
    found = set()
    for folder in PRODUCT_FOLDERS:
        for path in (REPO / folder).rglob("*.py"):
            found |= {m.group(1) for m in pattern.finditer(path.read_text())}
    stray = {key for key in found if key not in config.KEYS and key.split(":")[0] not in NOT_RUNTIME}
    assert not stray, f"keys read outside brine.config.KEYS: {sorted(stray)}"


def test_get_falls_back_to_the_default_for_unset_and_empty_values():
    assert config.get("inventory:timeout", lambda _path: None) == 10
    assert config.get("inventory:timeout", lambda _path: "") == 10
    assert config.get("inventory:timeout", {"brine:inventory:timeout": 3}.get) == 3
    with pytest.raises(KeyError, match="not one of Brine's configuration keys"):
        config.get("inventory_timeout", lambda _path: None)


def test_the_master_reads_its_configuration_before_its_pillar():
    opts = {"brine": {"inventory": {"timeout": 4}}}
    pillar = {"brine": {"inventory": {"timeout": 7}, "migration": {"timeout": 60}}}
    lookup = config.master_lookup(opts, pillar)
    assert config.get("inventory:timeout", lookup) == 4
    assert config.get("migration:timeout", lookup) == 60
    assert config.get("console:token_dir", lookup) == "/run/brine/console-tokens"
