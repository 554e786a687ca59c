"""
End-to-end: containers on the lab's hosts (docs/containers.md), each host running its own Docker
engine and the master side the site's registry.

In the browser an admin runs a web server on hv2 with a port mapping, the page is fetched
through the mapped port from inside hv2's namespace, then stopped and removed; a container
whose image only the registry has is pulled; each step shows in the page from the events
Docker sends (a change made from a shell shows too, without a reload). Through the site, bad
input is refused with its code and nothing starts, a viewer cannot run anything and an operator
cannot remove, and an environment value never reaches the event stream or the host's job.
Containers described in hv2's pillar are run by ``state.apply containers`` and a second run
changes nothing.
"""

import json

import pytest
from playwright.sync_api import expect

from support import containers_lab as cl
from support.pages import BrineUI
from support.site import StreamReader
from support.site import api_login
from support.site import runner

UI_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def tokens(lab):
    return {role: api_login(lab, role) for role in ("admin", "operator", "viewer")}


@pytest.fixture(scope="module")
def hv2(lab):
    host = lab.hosts[1]
    cl.clean(lab)
    cl.remove_image(lab, host, cl.HELLO)
    yield host
    cl.clean(lab)
    cl.remove_image(lab, host, cl.HELLO)
    cl.give_containers(lab, host, {})


@pytest.fixture(name="ui")
def _ui(lab, browser_page):
    problems = []
    browser_page.on("pageerror", lambda err: problems.append(f"uncaught: {err}"))
    yield BrineUI(browser_page, lab.url)
    assert problems == [], "the page threw"


def row(page, name):
    return page.get_by_test_id(f"container-row-{name}")


def fill_run_dialog(page, image, tag, name, host, ports=(), background=True):
    page.get_by_test_id("run-container-button").click()
    dialog = page.get_by_test_id("run-container-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("run-image").fill(image)
    dialog.get_by_test_id("run-tag").fill(tag)
    dialog.get_by_test_id("run-name").fill(name)
    dialog.get_by_test_id("run-host").select_option(host)
    for index, (host_port, container_port) in enumerate(ports):
        dialog.get_by_test_id("run-port-add").click()
        dialog.get_by_test_id(f"run-port-host-{index}").fill(str(host_port))
        dialog.get_by_test_id(f"run-port-container-{index}").fill(str(container_port))
    if not background:
        dialog.get_by_test_id("run-background").uncheck()
    dialog.get_by_test_id("run-submit").click()
    return dialog


# ---- In the browser


def test_run_a_web_server_on_hv2_fetch_it_stop_and_remove_it(ui, lab, hv2, artifacts_dir):
    ui.open(f"/hosts/{hv2}/containers")
    ui.login(*lab.users["admin"])
    page = ui.page
    expect(page.get_by_test_id("host-containers-page")).to_be_visible(timeout=UI_TIMEOUT_MS)
    dialog = fill_run_dialog(page, "brine-master:5000/brine/web", "1", "e2e-web", hv2, ports=[(8088, 80)])
    result = dialog.get_by_test_id("run-result")
    expect(result).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(dialog.get_by_test_id("run-result-headline")).to_contain_text("e2e-web")
    expect(dialog.get_by_test_id("run-result-headline")).to_contain_text(hv2)
    page.screenshot(path=str(artifacts_dir / "containers-1-run-result.png"), full_page=True)
    dialog.get_by_test_id("run-done").click()
    web = row(page, "e2e-web")
    expect(web).to_have_attribute("data-state", "running", timeout=UI_TIMEOUT_MS)
    expect(web.get_by_test_id("container-port")).to_contain_text("8088")
    # The page is served through the mapped port, inside hv2's namespace.
    assert "Hello from a Brine container" in (cl.fetch(lab, hv2, 8088) or "")
    page.screenshot(path=str(artifacts_dir / "containers-2-running.png"), full_page=True)

    # A change from a shell reaches the page through Docker's events, with no reload.
    assert lab.salt(hv2, "--out=json", "containers.pause", "e2e-web").returncode == 0
    expect(web).to_have_attribute("data-state", "paused", timeout=UI_TIMEOUT_MS)
    page.get_by_test_id("container-unpause-e2e-web").click()
    expect(web).to_have_attribute("data-state", "running", timeout=UI_TIMEOUT_MS)

    page.get_by_test_id("container-stop-e2e-web").click()
    expect(web).to_have_attribute("data-state", "exited", timeout=UI_TIMEOUT_MS)
    assert cl.state(lab, hv2, "e2e-web") == "exited"
    assert cl.fetch(lab, hv2, 8088) is None
    page.get_by_test_id("container-remove-e2e-web").click()
    expect(ui.confirm_dialog).to_be_visible()
    ui.confirm_dialog.locator("button[data-confirm='true']").click()
    expect(web).to_have_count(0, timeout=UI_TIMEOUT_MS)
    assert "e2e-web" not in cl.names(lab, hv2)


def test_an_image_only_the_registry_has_is_pulled_and_its_logs_read(ui, lab, hv2, artifacts_dir):
    assert not cl.has_image(lab, hv2, cl.HELLO)
    ui.open("/containers")
    ui.login(*lab.users["operator"])
    page = ui.page
    expect(page.get_by_test_id("containers-page")).to_be_visible(timeout=UI_TIMEOUT_MS)
    # No registry in the name: the site's registry (brine:containers:registry) is where it is looked up.
    dialog = fill_run_dialog(page, "brine/hello", "1", "e2e-hello", hv2)
    expect(dialog.get_by_test_id("run-result")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(dialog.get_by_test_id("run-result-headline")).to_contain_text("pulled", ignore_case=True)
    page.screenshot(path=str(artifacts_dir / "containers-3-pulled.png"), full_page=True)
    dialog.get_by_test_id("run-done").click()
    assert cl.has_image(lab, hv2, cl.HELLO)
    hello = row(page, "e2e-hello")
    expect(hello).to_have_attribute("data-state", "running", timeout=UI_TIMEOUT_MS)
    expect(hello).to_have_attribute("data-host", hv2)
    # An operator has no Remove.
    expect(page.get_by_test_id("container-remove-e2e-hello")).to_have_count(0)
    page.get_by_test_id("container-logs-e2e-hello").click()
    logs = page.get_by_test_id("container-logs-lines")
    expect(logs).to_contain_text("hello from brine", timeout=UI_TIMEOUT_MS)
    page.screenshot(path=str(artifacts_dir / "containers-4-logs.png"), full_page=True)
    page.keyboard.press("Escape")
    # The local images across hosts: hello on hv2 only, web on every host.
    images = page.get_by_test_id("images-table")
    images.scroll_into_view_if_needed()
    hello_image = images.locator(f'[data-image="{cl.HELLO}"]')
    expect(hello_image).to_have_count(1, timeout=UI_TIMEOUT_MS)
    expect(hello_image).to_contain_text(hv2)
    expect(hello_image).not_to_contain_text(lab.hosts[0])
    web_image = images.locator(f'[data-image="{cl.WEB}"]')
    for host in lab.hosts:
        expect(web_image).to_contain_text(host)
    page.screenshot(path=str(artifacts_dir / "containers-5-images.png"), full_page=True)
    # Stopped from the page.
    page.get_by_test_id("container-stop-e2e-hello").click()
    expect(hello).to_have_attribute("data-state", "exited", timeout=UI_TIMEOUT_MS)


def test_a_viewer_sees_containers_but_no_buttons(ui, lab, hv2):
    cl.clean(lab)
    status, ran = runner(
        lab, api_login(lab, "operator"), "containers.run", image=cl.WEB, name="e2e-look", host=hv2
    )
    assert status == 200 and "error" not in ran, ran
    ui.open(f"/hosts/{hv2}/containers")
    ui.login(*lab.users["viewer"])
    page = ui.page
    expect(row(page, "e2e-look")).to_have_attribute("data-state", "running", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_test_id("run-container-button")).to_have_count(0)
    expect(row(page, "e2e-look").locator("button[data-action]")).to_have_count(0)


# ---- Through the site


def _bad_runs(hv2):
    return {
        "an image with shell metacharacters": ({"image": "brine/web:1;rm -rf /"}, "invalid_argument"),
        "an image with a command substitution": ({"image": "$(reboot)"}, "invalid_argument"),
        "port 0": ({"image": cl.WEB, "ports": ["0:80"]}, "invalid_argument"),
        "port 70000": ({"image": cl.WEB, "ports": ["70000:80"]}, "invalid_argument"),
        "a taken host port": ({"image": cl.WEB, "ports": ["8090:80"], "host": hv2}, "port_in_use"),
        "a duplicate name": ({"image": cl.WEB, "name": "e2e-taken", "host": hv2}, "container_exists"),
        "a variable with a newline": (
            {"image": cl.WEB, "environment": {"GREETING": "hi\nINJECTED=1"}},
            "invalid_argument",
        ),
    }


@pytest.fixture(scope="module")
def taken(lab, hv2, tokens):
    """e2e-taken on hv2, publishing 8090: the port and the name the bad runs ask for again."""
    status, ran = runner(
        lab, tokens["operator"], "containers.run", image=cl.WEB, name="e2e-taken", host=hv2, ports=["8090:80"]
    )
    assert status == 200 and "error" not in ran, ran
    yield "e2e-taken"


@pytest.mark.parametrize("case", sorted(_bad_runs("hv2")))
def test_bad_input_is_refused_with_its_code_and_nothing_starts(lab, hv2, tokens, taken, case):
    arguments, code = _bad_runs(hv2)[case]
    before = {host: cl.names(lab, host) for host in lab.hosts}
    status, answer = runner(lab, tokens["operator"], "containers.run", **arguments)
    assert status == 200 and answer["error"]["code"] == code, answer
    assert {host: cl.names(lab, host) for host in lab.hosts} == before


def test_a_viewer_cannot_run_and_an_operator_cannot_remove(lab, hv2, tokens, taken):
    status, _answer = runner(lab, tokens["viewer"], "containers.run", image=cl.WEB, host=hv2)
    assert status in (401, 403)
    status, _answer = runner(lab, tokens["operator"], "containers.remove", host=hv2, name=taken, force=True)
    assert status in (401, 403)
    assert taken in cl.names(lab, hv2)
    status, answer = runner(lab, tokens["viewer"], "containers.list", host=hv2)
    assert status == 200 and taken in [c["name"] for c in answer["hosts"][0]["containers"]], answer


def test_an_environment_value_reaches_the_container_and_nowhere_else(lab, hv2, tokens):
    secret = "e2e-s3cret-value-91f2"
    stream = StreamReader(lab, tokens["viewer"])
    try:
        status, ran = runner(
            lab,
            tokens["operator"],
            "containers.run",
            image=cl.WEB,
            name="e2e-env",
            host=hv2,
            environment={"BRINE_E2E_SECRET": secret},
        )
        assert status == 200 and "error" not in ran, ran
        assert secret not in json.dumps(ran)
        stream.wait_for(
            lambda seen: any("brine/container/" in line and "e2e-env" in line for line in seen.lines)
        )
    finally:
        stream.close()
    assert secret not in stream.text
    env = lab.lab.docker_client(hv2).inspect_container("e2e-env")["Config"]["Env"]
    assert f"BRINE_E2E_SECRET={secret}" in env
    # The host's job carried the environment sealed to hv2's key, never in clear.
    jobs = lab.salt_run("--out=json", "jobs.list_jobs", "search_function=containers.run")
    assert jobs.returncode == 0, jobs.stderr
    assert secret not in jobs.stdout
    assert "sealed_environment" in jobs.stdout


# ---- As code


def test_containers_in_the_pillar_are_run_by_highstate_and_kept(lab, hv2):
    described = {"e2e-code": {"image": cl.WEB, "ports": ["8089:80"], "environment": {"MODE": "code"}}}
    cl.give_containers(lab, hv2, described)
    code, dry = cl.apply_containers(lab, hv2, test=True)
    assert code == 0, dry
    assert "e2e-code" not in cl.names(lab, hv2)
    code, first = cl.apply_containers(lab, hv2)
    assert code == 0, first
    assert [result["changes"] != {} for result in first.values()] == [True], first
    assert cl.state(lab, hv2, "e2e-code") == "running"
    assert "Hello from a Brine container" in (cl.fetch(lab, hv2, 8089) or "")
    code, second = cl.apply_containers(lab, hv2)
    assert code == 0, second
    assert [(result["result"], result["changes"]) for result in second.values()] == [(True, {})], second
    # Stopped from a shell: the next highstate starts it again.
    lab.lab.docker_client(hv2).stop("e2e-code", timeout=5)
    code, third = cl.apply_containers(lab, hv2)
    assert code == 0 and cl.state(lab, hv2, "e2e-code") == "running", third
    # Described as absent: removed.
    cl.give_containers(lab, hv2, {"e2e-code": {"image": cl.WEB, "state": "absent"}})
    code, gone = cl.apply_containers(lab, hv2)
    assert code == 0, gone
    assert "e2e-code" not in cl.names(lab, hv2)
