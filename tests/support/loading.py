"""
Loading Brine's Salt modules (execution modules, runners, engines) without Salt's loader, for
unit tests that call their functions with hand-set dunders. One loader for every test module.
"""

import importlib.util

from support.paths import REPO


def load(relative_path, name=None):
    """
    A fresh module object for the file ``relative_path`` (from the repository root), e.g.
    ``load("_runners/cluster.py")``. Each call gives a new module, so a test that sets
    ``__opts__`` on it does not leak into another test module.
    """
    path = REPO / relative_path
    name = name or "brine_test_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
