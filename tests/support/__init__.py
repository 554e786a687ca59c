"""
Helpers shared by the test tiers, in one place. Test modules import them as ``support.<part>``
(``tests/`` is on ``sys.path`` through the root ``conftest.py``); no test module imports
another test module.
"""
