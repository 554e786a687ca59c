"""Where the repository's parts are."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UTILS = REPO / "_utils"
MODULES = REPO / "_modules"
RUNNERS = REPO / "_runners"
ENGINES = REPO / "_engines"
WEB = REPO / "web"
