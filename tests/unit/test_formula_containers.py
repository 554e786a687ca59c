"""
The ``containers`` formula (states/containers/init.sls) rendered by Salt (``salt-call --local
state.show_sls containers``) with the host's pillar: one ``containers.described`` per entry, its
description passed whole (the state checks it, so one bad entry fails its own state and not the
render); no pillar, no states; a ``containers`` pillar that is not a mapping stops the render with
the coded sentence.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.paths import REPO

EXAMPLE = yaml.safe_load((REPO / "pillar" / "pillar.example").read_text())["containers"]


def show(tmp_path, pillar):
    """state id -> {"fun", "args"}, or the render errors (a list), of the formula with ``pillar``."""
    (tmp_path / "pillar").mkdir()
    (tmp_path / "pillar" / "top.sls").write_text("base:\n  '*':\n    - data\n")
    (tmp_path / "pillar" / "data.sls").write_text(json.dumps(pillar))
    config = {
        "id": "hv2",
        "file_client": "local",
        "root_dir": str(tmp_path),
        "file_roots": {"base": [str(REPO / "states")]},
        "pillar_roots": {"base": [str(tmp_path / "pillar")]},
        "states_dirs": [str(REPO / "_states")],
        "utils_dirs": [str(REPO / "_utils")],
        "log_level_logfile": "quiet",
    }
    (tmp_path / "minion").write_text(yaml.safe_dump(config))
    salt_call = str(Path(sys.executable).parent / "salt-call")
    out = subprocess.run(
        [salt_call, "--local", "-c", str(tmp_path), "--out=json", "state.show_sls", "containers"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    result = json.loads(out.stdout)["local"]
    if isinstance(result, list):
        return result
    states = {}
    for state_id, body in result.items():
        for module, items in body.items():
            if module.startswith("__"):
                continue
            fun = next(item for item in items if isinstance(item, str))
            args = {key: value for item in items if isinstance(item, dict) for key, value in item.items()}
            states[state_id] = {"fun": f"{module}.{fun}", "args": args}
    return states


def test_each_entry_of_the_worked_example_is_one_state(tmp_path):
    states = show(tmp_path, {"containers": EXAMPLE})
    assert sorted(states) == [
        "containers-hello1-containers-described",
        "containers-old-web-containers-described",
        "containers-web1-containers-described",
    ]
    web1 = states["containers-web1-containers-described"]
    assert web1["fun"] == "containers.described"
    assert web1["args"]["name"] == "web1"
    assert web1["args"]["description"] == EXAMPLE["web1"]
    assert states["containers-old-web-containers-described"]["args"]["description"] == {"state": "absent"}


def test_a_bad_entry_still_renders_for_its_state_to_refuse(tmp_path):
    pillar = {
        "containers": {
            "web1": {"image": "brine/web:1"},
            "bad one": {"imgae": "brine/web:1"},
            "listed": ["brine/web:1"],
            1234: {"image": "brine/web:1"},
        }
    }
    states = show(tmp_path, pillar)
    assert sorted(states) == [
        "containers-1234-containers-described",
        "containers-bad one-containers-described",
        "containers-listed-containers-described",
        "containers-web1-containers-described",
    ]
    assert states["containers-bad one-containers-described"]["args"]["description"] == {
        "imgae": "brine/web:1"
    }
    assert states["containers-listed-containers-described"]["args"]["description"] == ["brine/web:1"]
    # A number as a name reaches the state as the text Docker would take.
    assert states["containers-1234-containers-described"]["args"]["name"] == "1234"


@pytest.mark.parametrize("pillar", [{}, {"containers": {}}, {"containers": None}])
def test_no_containers_no_states(tmp_path, pillar):
    assert show(tmp_path, pillar) == {}


def test_a_containers_pillar_that_is_not_a_mapping_stops_the_render(tmp_path):
    errors = show(tmp_path, {"containers": ["web1"]})
    assert isinstance(errors, list), errors
    assert "[invalid_argument] pillar containers must be a mapping" in "\n".join(errors), errors
