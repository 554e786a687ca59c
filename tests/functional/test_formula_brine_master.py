"""
The brine formula (the master side) applied for real to a clean Debian 12 host (see
hostroot.py), masterless, with the repository bind-mounted at /srv/brine as a master's checkout:

- nginx and websockify install from Debian; the master.d snippets are the repository's own; the
  nginx site rendered from nginx/brine.conf.j2 serves the web app over TLS and proxies /api/;
  websockify runs from the formula's init script with Brine's token plugin;
- the site's registry (brine:master:registry): Debian's docker-registry runs from its own init
  script with the formula's config.yml, as its own user, and the master is told where it is;
- a second apply changes nothing, and ``test=True`` afterwards has nothing to do.

salt-api is left out (``services:salt_api: null``): this host's Salt is the repository's
virtual environment, which has no salt-api service to start. The host shares the machine's
network namespace, so its site listens on 127.0.0.5, websockify on 127.0.0.5:6081 and the
/api/ upstream is 127.0.0.5:8001 (nothing there: nginx answers 502), the registry on
127.0.0.5:5005.
"""

import json
import subprocess
import time

import pytest
import yaml

from support import hostroot

pytestmark = [pytest.mark.hostroot, pytest.mark.timeout(1800)]

SITE = "127.0.0.5:8445"
CONSOLE = "127.0.0.5:6081"
API = "127.0.0.5:8001"
REGISTRY = "127.0.0.5:5005"
# The formula's default: brine:master:websockify:token_dir, written for websockify and the master alike.
TOKENS = "/run/brine/console-tokens"


def curl(*args):
    return subprocess.run(
        ["curl", "-sk", "--max-time", "20", *args], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def master_host(tmp_path_factory):
    hostroot.require()
    node = hostroot.Host("brinemaster", tmp_path_factory.mktemp("master")).start()
    try:
        node.exec("mkdir", "-p", "/etc/brine-tls")
        cert = subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=brine-test",
                "-keyout",
                "/dev/stdout",
                "-out",
                "/dev/stdout",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        key = (
            cert[cert.index("-----BEGIN PRIVATE KEY-----") : cert.index("-----END PRIVATE KEY-----") + 25]
            + "\n"
        )
        crt = (
            cert[cert.index("-----BEGIN CERTIFICATE-----") : cert.index("-----END CERTIFICATE-----") + 25]
            + "\n"
        )
        node.write("/etc/brine-tls/brine.key", key, mode=0o600)
        node.write("/etc/brine-tls/brine.pem", crt)
        node.write(
            "/srv/pillar/brine.sls",
            json.dumps(
                {
                    "brine": {
                        "master": {
                            "repo": "/srv/brine",
                            "restart_master": False,
                            "services": {"salt_api": None},
                            # Salt here is the test's own virtual environment, which has
                            # pykickstart from requirements.txt: no pip into it.
                            "python_packages": {"bin_env": None},
                            # Only these hypervisor minions may ask the site CA to sign.
                            "x509_peers": ["hv1", "hv2.example.com"],
                            "nginx": {
                                "listen": SITE,
                                "server_name": "brine-test",
                                "tls_cert": "/etc/brine-tls/brine.pem",
                                "tls_key": "/etc/brine-tls/brine.key",
                                "console_upstream": CONSOLE,
                                # Not the lab's salt-api on 127.0.0.1:8000 (same network namespace).
                                "api_upstream": API,
                            },
                            "websockify": {"listen": CONSOLE},
                            "registry": {"enabled": True, "listen": REGISTRY, "name": "brine-test:5005"},
                        }
                    }
                }
            ),
        )
        node.salt_config(["brine"], extra="disable_modules:\n  - systemd_service")
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def first_apply(master_host):
    started = time.monotonic()
    result = master_host.salt_call("state.apply", "brine")
    print(f"brine first apply: {time.monotonic() - started:.1f} s")
    ret = hostroot.states(result)
    failed = {k: v["comment"] for k, v in ret.items() if v["result"] is not True}
    assert not failed and result.returncode == 0, failed
    return ret


def test_site_and_console_proxy_run_from_the_repository_files(master_host, first_apply):
    assert first_apply["brine-package-install-pkg-installed"]["changes"]
    for snippet in ("brine-api.conf", "brine-eauth.conf", "brine-master.conf"):
        ours = (hostroot.REPO / "master.d" / snippet).read_text()
        assert master_host.exec("cat", f"/etc/salt/master.d/{snippet}").stdout == ours
    paths = yaml.safe_load(master_host.exec("cat", "/etc/salt/master.d/brine-paths.conf").stdout)
    assert paths["peer"] == {r"^(hv1|hv2\.example\.com)$": ["x509.sign_remote_certificate"]}
    assert paths["runner_dirs"] == ["/srv/brine/_runners"] and paths["utils_dirs"] == ["/srv/brine/_utils"]
    # Consoles: the runner's token folder is the one the running websockify reads.
    assert paths["brine"]["console"]["token_dir"] == TOKENS
    for folder in ("_modules", "_utils"):
        link = master_host.exec("readlink", f"/srv/brine-fileroot/{folder}").stdout.strip()
        assert link == f"/srv/brine/{folder}"
    # The host shares the machine's network namespace: ask from outside, with the machine's curl.
    page = curl(f"https://{SITE}/")
    assert page.returncode == 0 and "<html" in page.stdout.lower(), page
    headers = curl("-D", "-", "-o", "/dev/null", f"https://{SITE}/").stdout
    assert "content-security-policy: default-src 'self'" in headers.lower()
    # POST /api/ goes to salt-api's loopback address (not running on this host: nginx says 502);
    # other methods and salt-api's other endpoints never reach it.
    assert curl("-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", f"https://{SITE}/api/").stdout == "502"
    assert curl("-o", "/dev/null", "-w", "%{http_code}", f"https://{SITE}/api/").stdout == "405"
    assert curl("-o", "/dev/null", "-w", "%{http_code}", f"https://{SITE}/api/events").stdout == "404"
    # Logins: Brine's PAM service, with the group check and faillock, and the modules it names.
    pam = master_host.exec("cat", "/etc/pam.d/brine").stdout
    assert "pam_succeed_if.so quiet user ingroup brine-viewer" in pam and "pam_faillock.so preauth" in pam
    for module in ("pam_faillock.so", "pam_succeed_if.so", "pam_unix.so", "pam_deny.so"):
        assert master_host.exec("find", "/lib", "/usr/lib", "-name", module).stdout.strip(), module
    processes = master_host.exec("ps", "-eo", "args").stdout
    assert "nginx: master process" in processes
    assert "brine_console_tokens.BrineConsoleTokens" in processes and CONSOLE in processes
    assert f"--token-source {TOKENS} " in processes
    assert master_host.exec("stat", "-c", "%a", TOKENS).stdout.strip() == "700"
    # The provisioning catalog: its folder, root's, and the master told where it is.
    assert master_host.exec("stat", "-c", "%a %U", "/srv/brine-catalog").stdout.strip() == "750 root"
    assert paths["brine"]["provision"]["catalog_dir"] == "/srv/brine-catalog"
    assert paths["ext_pillar"] == [{"brine_catalog": {}}, {"brine_landscape": {}}]


def test_the_registry_runs_with_the_formulas_configuration(master_host, first_apply):
    assert first_apply["brine-registry-service-running"]["changes"]
    config = yaml.safe_load(master_host.exec("cat", "/etc/docker/registry/config.yml").stdout)
    assert config["http"]["addr"] == REGISTRY and "auth" not in config
    # The registry answers (the v2 API's base: an empty JSON object), as Debian's user.
    assert curl(f"http://{REGISTRY}/v2/").stdout.strip() == "{}"
    assert curl(f"http://{REGISTRY}/v2/_catalog").stdout.strip() == '{"repositories":[]}'
    owners = master_host.exec("ps", "-eo", "user:20,args").stdout
    registries = [line.split()[0] for line in owners.splitlines() if "docker-registry serve" in line]
    assert registries == ["docker-registry"], owners
    assert (
        master_host.exec("stat", "-c", "%U", "/var/lib/docker-registry").stdout.strip() == "docker-registry"
    )
    paths = yaml.safe_load(master_host.exec("cat", "/etc/salt/master.d/brine-paths.conf").stdout)
    assert paths["brine"]["containers"] == {
        "registry": "brine-test:5005",
        "registry_url": f"http://{REGISTRY}",
    }


def test_second_apply_changes_nothing(master_host, first_apply):  # pylint: disable=unused-argument
    ret = hostroot.states(master_host.salt_call("state.apply", "brine"))
    assert {k: v["changes"] for k, v in ret.items() if v["changes"]} == {}


def test_test_mode_afterwards_has_nothing_to_do(master_host, first_apply):  # pylint: disable=unused-argument
    ret = hostroot.states(master_host.salt_call("state.apply", "brine", "test=True"))
    assert {k: v["comment"] for k, v in ret.items() if v["result"] is not True or v["changes"]} == {}
