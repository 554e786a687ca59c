"""
A provisioning catalog for the tests of ``brine.catalog``, its store and its pillar: one entry
or more of every kind, references included, and the kickstart templates it names (the project's
templates may not be written yet, so tests set the list).
"""

import copy

from brine import catalog
from brine import kickstart

TEMPLATES = ("fedora", "rhel")

SAMPLE = {
    "profiles": {
        "small": {"memory": 2048, "vcpus": 2, "disk": 20},
        "big": {"memory": 16384, "vcpus": 8, "disk": 200},
    },
    "os_trees": {
        "rhel9": {"url": "http://mirror.example.com/rhel9/os/", "os_variant": "rhel9.0", "kickstart": "rhel"},
        "f37": {
            "url": "https://mirror.example.com/fedora/37/",
            "os_variant": "fedora37",
            "kickstart": "fedora",
        },
    },
    "products": {
        "baseos": {"url": "http://mirror.example.com/rhel9/BaseOS/"},
        "appstream": {"url": "http://mirror.example.com/rhel9/AppStream/"},
        "nginx": {"url": "https://nginx.example.com/rhel/9/$basearch/"},
    },
    "views": {
        "base": {"products": ["baseos", "appstream"]},
        "web": {"products": ["nginx", "appstream"]},
    },
    "activation_keys": {
        "web": {"views": ["base", "web"]},
        "plain": {"views": ["base"]},
    },
    "host_groups": {
        "web": {
            "profile": "small",
            "os_tree": "rhel9",
            "activation_key": "web",
            "network": "default",
            "pool": "default",
            "placement": {"kind": "grain", "key": "brine:rack", "value": "r1"},
        },
        "lab": {
            "profile": "big",
            "os_tree": "f37",
            "activation_key": None,
            "network": "lab",
            "pool": "images",
            "placement": {"kind": "any"},
        },
    },
}


def sample():
    """A fresh copy of ``SAMPLE`` (tests may change it)."""
    return copy.deepcopy(SAMPLE)


def use_templates(monkeypatch, names=TEMPLATES):
    """Make ``brine.kickstart.template_names()`` answer ``names``."""
    monkeypatch.setattr(kickstart, "template_names", lambda: sorted(names))


def fill(store, content=SAMPLE):
    """Set every entry of ``content`` in ``store``, kinds in the order references need."""
    for kind in catalog.KINDS:
        for name, fields in (content.get(kind) or {}).items():
            store.set(kind, name, copy.deepcopy(fields))
