"""
Brine's library: the logic shared by the execution modules, the runners, the events engine and
the console plugin.

Salt serves this folder to hosts and the master as ``_utils`` (``saltutil.sync_utils`` on
hosts, ``utils_dirs`` on the master); Salt's loader puts the utils folders on ``sys.path``
while it imports a module, runner or engine, so they ``import brine.<part>`` at the top of
the file. websockify imports ``brine.tokens`` with this folder on its ``PYTHONPATH``.
docs/design.md says what lives where.

Nothing here uses Salt's dunders (``__salt__``, ``__opts__``): callers pass what the library
needs, which keeps it importable and testable without the loader.
"""
