"""The lab's Docker images (lab/docker_engine.py): what ``docker import`` is told to run."""

import json

from support.dockerd import docker_engine


def test_every_image_runs_its_command_in_exec_form():
    for image, recipe in docker_engine.IMAGES.items():
        cmd = [line for line in docker_engine.changes(image) if line.startswith("CMD ")]
        assert len(cmd) == 1, image
        # JSON, so Docker runs the exec form (hello's shell script has quotes inside).
        assert json.loads(cmd[0][len("CMD ") :]) == recipe["cmd"], image


def test_the_engine_script_passes_the_pid_file_as_debians_init_script_does():
    script = docker_engine.engine_script("hv1", "/etc/docker/daemon.json", pidfile="/run/docker/docker.pid")
    assert script.splitlines()[-1] == (
        "exec dockerd --config-file '/etc/docker/daemon.json' --pidfile '/run/docker/docker.pid'"
    )
    assert docker_engine.engine_script("t", "/x/daemon.json").splitlines()[-1] == (
        "exec dockerd --config-file '/x/daemon.json'"
    )
