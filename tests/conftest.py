"""Settings for the whole suite."""

import logging


def pytest_unconfigure(config):  # pylint: disable=unused-argument
    # Salt's log handlers outlive pytest's captured streams and print "--- Logging error ---"
    # tracebacks at interpreter exit; they are noise, not failures.
    logging.raiseExceptions = False
