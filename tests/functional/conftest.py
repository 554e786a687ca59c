"""
Functional tests: Brine's execution modules called through Salt's loader against real
libvirt, using libvirt's in-process ``test:///default`` driver. The loader finds Brine's library
(``_utils``) through ``utils_dirs``, as a host's minion finds the synced ``_utils``.

The test driver keeps its state (domains, pools, networks) only while at least one
connection to it is open in the process, so ``libvirt_conn`` holds one for the whole
session; tests use it to set up and inspect what the module did.
"""

import os
import pathlib
import shutil

import pytest
from saltfactories.utils import random_string
from saltfactories.utils.functional import Loaders

libvirt = pytest.importorskip("libvirt")

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TEST_URI = "test:///default"


@pytest.fixture(scope="session")
def libvirt_conn():
    conn = libvirt.open(TEST_URI)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory):
    """A real dockerd and docker-registry in a network namespace of their own, for the session
    (tests/support/dockerd.py); tests remove what they made with ``docker_engine.cleanup()``.
    Without one CI fails, elsewhere the tests that need it skip."""
    from support import dockerd

    why = dockerd.available()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"no Docker engine for the functional tests: {why}")
        pytest.skip(f"no Docker engine: {why}")
    engine = dockerd.PrivateEngine(tmp_path_factory.mktemp("dockerd"), dockerd.CACHE).start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="module")
def minion_id():
    return random_string("hv-func-", uppercase=False)


@pytest.fixture(scope="module")
def state_tree(tmp_path_factory):
    path = tmp_path_factory.mktemp("state-tree-base")
    try:
        yield path
    finally:
        shutil.rmtree(str(path), ignore_errors=True)


@pytest.fixture(scope="module")
def minion_opts(salt_factories, minion_id, state_tree):
    factory = salt_factories.salt_minion_daemon(
        minion_id,
        overrides={
            "file_client": "local",
            "file_roots": {"base": [str(state_tree)]},
            "module_dirs": [str(REPO_ROOT / "_modules")],
            # Brine's library as a host gets it (saltutil.sync_utils): Salt's loader puts the
            # utils folders on sys.path while it imports the module.
            "utils_dirs": [str(REPO_ROOT / "_utils")],
            "virt": {"connection": {"uri": TEST_URI}},
        },
    )
    return factory.config.copy()


@pytest.fixture(scope="module")
def loaders(minion_opts, libvirt_conn):  # pylint: disable=unused-argument
    return Loaders(minion_opts)


@pytest.fixture(autouse=True)
def reset_loaders_state(loaders):
    try:
        yield
    finally:
        loaders.reset_state()


@pytest.fixture(scope="module")
def modules(loaders):
    return loaders.modules
