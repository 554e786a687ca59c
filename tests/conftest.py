"""Settings for the whole suite, and the one place that makes the shared parts importable."""

import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Brine's library (``_utils/brine``) as Salt's loader makes it importable for modules, and the
# tests' shared helpers (``tests/support``).
for folder in (HERE.parent / "_utils", HERE):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

# The lab and browser fixtures of the tiers that run on the lab (e2e, security).
pytest_plugins = ["support.labfixtures"]


def pytest_unconfigure(config):
    # Salt's log handlers outlive pytest's captured streams and print "--- Logging error ---"
    # tracebacks at interpreter exit; they are noise, not failures.
    logging.raiseExceptions = False
