"""
The ``brine_catalog`` ext_pillar (docs/provisioning.md, Storage): states read the catalog the
runner keeps under ``brine:catalog:<kind>``, from the folder the master's configuration names.
"""

import pytest

from brine import catalog
from brine import catalog_store
from brine import config
from brine import errors
from support.catalogs import fill
from support.catalogs import sample
from support.catalogs import use_templates
from support.loading import load


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "catalog"


@pytest.fixture
def pillar(folder):
    module = load("_pillar/brine_catalog.py")
    module.__opts__ = {"id": "master_master", "brine": {"provision": {"catalog_dir": str(folder)}}}
    return module


def test_the_pillar_is_the_catalog_under_brine_catalog(pillar, folder, monkeypatch):
    use_templates(monkeypatch)
    fill(catalog_store.Store(folder))
    assert pillar.ext_pillar("hv1", {}) == {"brine": {"catalog": sample()}}


def test_every_minion_gets_the_same_catalog_whatever_its_pillar(pillar, folder, monkeypatch):
    use_templates(monkeypatch)
    catalog_store.Store(folder).set("profiles", "small", {"memory": 512, "vcpus": 1, "disk": 2})
    first = pillar.ext_pillar("hv1", {"brine": {"provision": {"catalog_dir": "/elsewhere"}}})
    assert first == pillar.ext_pillar("hv2", {}, "ignored", key="ignored")
    assert first["brine"]["catalog"]["profiles"] == {"small": {"memory": 512, "vcpus": 1, "disk": 2}}


def test_an_empty_folder_gives_every_kind_empty(pillar, folder):
    assert pillar.ext_pillar("hv1", {}) == {"brine": {"catalog": {kind: {} for kind in catalog.KINDS}}}
    assert not folder.exists()


def test_the_folder_defaults_to_the_documented_one(pillar):
    pillar.__opts__ = {}
    assert (
        pillar.catalog_dir(pillar.__opts__) == config.default("provision:catalog_dir") == "/srv/brine-catalog"
    )


def test_a_broken_catalog_file_fails_the_pillar_naming_it(pillar, folder):
    folder.mkdir()
    (folder / "views.yaml").write_text("- not\n- a mapping\n")
    with pytest.raises(errors.Refused, match=r"views\.yaml is not a mapping") as caught:
        pillar.ext_pillar("hv1", {})
    assert caught.value.code == "internal"


def test_the_module_loads_under_its_name(pillar):
    assert pillar.__virtual__() == "brine_catalog"
