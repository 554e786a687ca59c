"""
Brine's formulas (states/kvm, states/cluster, states/brine) rendered by Salt's real renderer:
``state.show_sls`` through ``salt.client.Caller`` with ``file_client: local``, file_roots at
``states/`` and a temporary pillar, as ``salt-call --local state.show_sls`` would. Every SLS file
renders with a full pillar, on an init-script host and on a systemd host; defaults and overrides
land where they should; bad values stop the render with a sentence naming the key. The files the
states write are rendered from the context the states carry, with plain Jinja (the templates use
nothing else, so the lab can render them too).
"""

import base64
import copy
import json
import pathlib
import re
import subprocess
import sys

import jinja2
import pytest
import salt.client
import salt.config
import yaml

from brine import config as brine_config

REPO = pathlib.Path(__file__).resolve().parents[2]
STATES = REPO / "states"
AUTHKEY = base64.b64encode(bytes(range(256))).decode()
NODES = {"hv1": {"id": 1, "address": "10.0.0.11"}, "hv2": {"id": 2, "address": "10.0.0.12"}}
FENCE = {
    "fence-hv1": {
        "agent": "fence_ipmilan",
        "host_list": ["hv1"],
        "params": {"ip": "10.0.1.11", "username": "admin", "password": "pw"},
    }
}

# A pillar every SLS renders with: the hosts' required keys given, everything else default.
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
BASE_PILLAR = {
    "kvm": {
        "tls": {
            "ca_server": "ca1",
            "ca_cert_pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "hosts": ["hv1", "hv2"],
        },
        "libvirtd": {"listen_addr": "10.0.0.11"},
    },
    "cluster": {"nodes": NODES, "corosync": {"authkey": AUTHKEY}, "fencing": {"devices": FENCE}},
    "brine": {"roles": ["hypervisor"], "master": {"repo": str(REPO)}},
}

# Everything optional switched on as well, so every SLS file has states to show.
FULL_PILLAR = {
    **BASE_PILLAR,
    "kvm": {
        **BASE_PILLAR["kvm"],
        "hugepages": {"enabled": True},
        "mounts": {"/srv/images": {"device": "nas:/images", "fstype": "nfs"}},
        "network": {"bridges": {"br0": {"ports": ["eno1"]}}},
        "kernel": {"cmdline": ["intel_iommu=on"]},
        "docker": {"enabled": True},
    },
    "brine": {
        **BASE_PILLAR["brine"],
        "master": {**BASE_PILLAR["brine"]["master"], "registry": {"enabled": True}},
    },
    # The worked landscape of pillar.example (networks, pools and guests as code, docs/landscape.md).
    "landscape": yaml.safe_load((REPO / "pillar" / "pillar.example").read_text())["landscape"],
    # The worked containers of pillar.example (containers as code, docs/containers.md).
    "containers": yaml.safe_load((REPO / "pillar" / "pillar.example").read_text())["containers"],
}


def sls_names():
    names = []
    for path in sorted(STATES.rglob("*.sls")):
        parts = list(path.relative_to(STATES).with_suffix("").parts)
        if parts[-1] == "init":
            parts.pop()
        names.append(".".join(parts))
    return names


def merge(base, override):
    result = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


class Renderer:
    """salt-call --local in-process: one minion config per pillar and grains."""

    def __init__(self, tmp_path_factory):
        self.tmp = tmp_path_factory
        self.callers = {}

    def caller(self, pillar, grains):
        key = yaml.safe_dump([pillar, grains], sort_keys=True)
        if key not in self.callers:
            root = self.tmp.mktemp("formula-render")
            (root / "pillar").mkdir()
            (root / "pillar" / "top.sls").write_text("base:\n  '*':\n    - data\n")
            (root / "pillar" / "data.sls").write_text(yaml.safe_dump(pillar))
            config = {
                "id": "hv1",
                "file_client": "local",
                "root_dir": str(root),
                "file_roots": {"base": [str(STATES)]},
                # Brine's own modules, states and library, as a synced host has them (the landscape
                # formula asks its host module for the host's picture).
                "module_dirs": [str(REPO / "_modules")],
                "states_dirs": [str(REPO / "_states")],
                "utils_dirs": [str(REPO / "_utils")],
                # The landscape's picture reads the host's pools: libvirt's in-process test driver.
                "virt": {"connection": {"uri": "test:///default"}},
                "pillar_roots": {"base": [str(root / "pillar")]},
                "grains": grains,
                "log_level_logfile": "quiet",
            }
            (root / "minion").write_text(yaml.safe_dump(config))
            opts = salt.config.minion_config(str(root / "minion"))
            self.callers[key] = salt.client.Caller(mopts=opts)
        return self.callers[key]

    def show(self, sls, pillar=None, grains=None, isolated=False):
        """state id -> {"fun": "module.function", "args": {...}}, or the render errors (list).

        ``isolated`` renders in a salt-call process of its own: in one process, a second Caller
        with other grains has been seen to render with the first one's init-system choice."""
        pillar = pillar if pillar is not None else BASE_PILLAR
        caller = self.caller(pillar, grains or {})
        if isolated:
            out = subprocess.run(
                [
                    str(pathlib.Path(sys.executable).parent / "salt-call"),
                    "--local",
                    "-c",
                    str(pathlib.Path(caller.opts["conf_file"]).parent),
                    "--out=json",
                    "state.show_sls",
                    sls,
                ],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
            result = json.loads(out.stdout)["local"]
        else:
            result = caller.cmd("state.show_sls", sls)
        if isinstance(result, list):
            return result
        return lab_module().show_sls_states(result)


@pytest.fixture(scope="module")
def render(tmp_path_factory):
    return Renderer(tmp_path_factory)


def template(path, **context):
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(path.parent)), undefined=jinja2.StrictUndefined
    )
    return env.get_template(path.name).render(**context)


def lab_module():
    """lab/brinelab.py, imported as the lab runs it."""
    sys.path.insert(0, str(REPO / "lab"))
    try:
        import brinelab  # pylint: disable=import-outside-toplevel
    finally:
        sys.path.remove(str(REPO / "lab"))
    return brinelab


def errors_text(result):
    assert isinstance(result, list), f"expected a render error, got states {sorted(result)}"
    return "\n".join(map(str, result))


# -- every SLS ---------------------------------------------------------------------------------
@pytest.mark.parametrize("grains", [{}, {"init": "systemd"}], ids=["initscripts", "systemd"])
@pytest.mark.parametrize("sls", sls_names())
def test_every_sls_renders(render, sls, grains):
    states = render.show(sls, FULL_PILLAR, grains=grains)
    assert isinstance(states, dict) and states, states
    formula = sls.split(".")[0]
    for state_id, state in states.items():
        # IDs say what they are: <formula>-<sls>-...-<module>-<function>.
        assert state_id.startswith(formula + "-"), state_id
        module, function = state["fun"].split(".")
        assert state_id.endswith(f"-{module}-{function}"), (state_id, state["fun"])


def test_formula_layout_follows_template_formula():
    for formula in ("kvm", "cluster", "brine"):
        for name in (
            "map.jinja",
            "parameters/defaults.yaml",
            "parameters/os_family.yaml",
            "init.sls",
            "clean.sls",
            "package/install.sls",
            "package/clean.sls",
            "config/file.sls",
            "config/clean.sls",
            "service/running.sls",
            "service/clean.sls",
        ):
            assert (STATES / formula / name).is_file(), f"{formula}/{name}"


# -- kvm ---------------------------------------------------------------------------------------
def test_kvm_defaults_on_an_init_script_host(render):
    states = render.show("kvm")
    pkgs = states["kvm-package-install-pkg-installed"]["args"]["pkgs"]
    assert {
        "libvirt-daemon-system",
        "qemu-system-x86",
        "qemu-utils",
        "virtinst",
        "bridge-utils",
        "libvirt-daemon-system-sysv",
    } <= set(pkgs)
    # Without systemd, libvirtd opens its TLS listener only with --listen.
    assert states["kvm-config-file-libvirtd-defaults-file-keyvalue"]["args"]["key_values"] == {
        "LIBVIRTD_ARGS": '"--listen"'
    }
    assert "kvm-service-running-libvirtd-tls-socket-service-running" not in states
    watched = states["kvm-service-running-libvirtd-service-running"]["args"]["watch"]
    assert {"file": "kvm-config-file-qemu-conf-file-managed"} in watched
    assert {"file": "kvm-config-file-libvirtd-conf-file-managed"} in watched
    qemu = states["kvm-config-file-qemu-conf-file-managed"]["args"]["context"]["qemu"]
    text = template(STATES / "kvm/files/default/qemu.conf.jinja", qemu=qemu)
    assert "migrate_tls" not in text  # the lab's rendering (qemu only) has none
    assert 'vnc_listen = "127.0.0.1"' in text and 'user = "libvirt-qemu"' in text
    assert "security_driver" not in text and "vnc_password" not in text
    ctx = states["kvm-config-file-libvirtd-conf-file-managed"]["args"]["context"]
    text = template(STATES / "kvm/files/default/libvirtd.conf.jinja", **ctx)
    assert "listen_tls = 1" in text and "listen_tcp = 0" in text
    assert 'cert_file = "/etc/pki/libvirt/servercert.pem"' in text
    assert 'ca_file = "/etc/pki/CA/cacert.pem"' in text
    assert "auth_tcp" not in text
    # Sysctls, the snippet with the engine, TLS certificates from the CA minion.
    assert states["kvm-sysctl-vm.swappiness-sysctl-present"]["args"]["value"] == 10
    snippet = template(
        STATES / "kvm/files/default/minion-brine.conf.jinja",
        **states["kvm-minion-snippet-file-managed"]["args"]["context"],
    )
    snippet = yaml.safe_load(snippet)
    assert snippet["engines"] == [{"brine_events": {}}, {"brine_installs": {}}]
    assert snippet["brine"]["migration"]["uri"] == "qemu+tls://{host}/system"
    assert snippet["disable_modules"] == ["systemd_service"]
    assert snippet["brine"]["migration"]["tls"] is True
    for role in ("server", "client"):
        cert = states[f"kvm-tls-{role}-cert-x509-certificate_managed"]["args"]
        assert cert["ca_server"] == "ca1" and cert["signing_policy"] == "brine_libvirt:hv1"
        assert cert["CN"] == "hv1" and cert["subjectAltName"] == "DNS:hv1"
        assert cert["private_key"].startswith("/etc/pki/libvirt/private/")
        assert "signing_private_key" not in cert  # the CA key never comes near a host
        # QEMU's own pair for the migration streams, in QEMU's TLS folder, readable by its group.
        qemu = states[f"kvm-tls-qemu-{role}-cert-x509-certificate_managed"]["args"]
        assert qemu["name"] == f"/etc/pki/qemu/{role}-cert.pem"
        assert qemu["private_key"] == f"/etc/pki/qemu/{role}-key.pem"
        assert qemu["signing_policy"] == "brine_libvirt:hv1:qemu" and qemu["O"] == "Brine QEMU migration"
        key = states[f"kvm-tls-qemu-{role}-key-x509-private_key_managed"]["args"]
        assert (key["group"], key["mode"]) == ("libvirt-qemu", "0640")
    assert states["kvm-tls-server-key-x509-private_key_managed"]["args"]["mode"] == "0600"
    assert states["kvm-tls-qemu-ca-cert-x509-pem_managed"]["args"]["name"] == "/etc/pki/qemu/ca-cert.pem"
    qemu_conf = states["kvm-config-file-qemu-conf-file-managed"]["args"]
    assert qemu_conf["show_changes"] is False
    text = template(STATES / "kvm/files/default/qemu.conf.jinja", **qemu_conf["context"])
    for line in (
        'migrate_tls_x509_cert_dir = "/etc/pki/qemu"',
        'default_tls_x509_cert_dir = "/etc/pki/qemu"',
        "migrate_tls_x509_verify = 1",
        "migrate_tls_force = 1",
        'migration_address = "10.0.0.11"',
    ):
        assert line in text
    # libvirtd: the management address only, and only the site's hosts' certificates.
    text = template(STATES / "kvm/files/default/libvirtd.conf.jinja", **ctx)
    assert 'listen_addr = "10.0.0.11"' in text
    assert 'tls_allowed_dn_list = ["CN=hv1", "CN=hv2"]' in text
    # Nothing optional without pillar.
    assert not [
        s for s in states if s.startswith(("kvm-hugepages", "kvm-mounts", "kvm-network", "kvm-kernel"))
    ]


def test_kvm_on_a_systemd_host(render):
    states = render.show("kvm", grains={"init": "systemd"}, isolated=True)
    assert "libvirt-daemon-system-sysv" not in states["kvm-package-install-pkg-installed"]["args"]["pkgs"]
    assert "kvm-config-file-libvirtd-defaults-file-keyvalue" not in states
    assert (
        states["kvm-service-running-libvirtd-tls-socket-service-running"]["args"]["name"]
        == "libvirtd-tls.socket"
    )
    snippet = yaml.safe_load(
        template(
            STATES / "kvm/files/default/minion-brine.conf.jinja",
            **states["kvm-minion-snippet-file-managed"]["args"]["context"],
        )
    )
    assert "disable_modules" not in snippet


def test_kvm_overrides(render):
    pillar = merge(
        BASE_PILLAR,
        {
            "kvm": {
                "qemu": {
                    "vnc_listen": "10.0.0.5",
                    "security_driver": "apparmor",
                    "user": "root",
                    "vnc_password": "x" * 24,
                },
                "libvirtd": {"listen_addr": "10.0.0.5", "tls_allowed_dn_list": ["CN=hv*"]},
                "sysctl": {"values": {"vm.swappiness": 1}},
                "hugepages": {"enabled": True, "pagesize": "1G"},
                "mounts": {
                    "/var/lib/libvirt/images/shared": {
                        "device": "nas:/export/images",
                        "fstype": "nfs",
                        "opts": "vers=4.2",
                    }
                },
                "network": {"bridges": {"br-vm": {"ports": ["eno2"], "vlan": 42}}},
                "kernel": {"cmdline": ["intel_iommu=on", "iommu=pt"]},
                "minion": {"engine": False},
            }
        },
    )
    states = render.show("kvm", pillar)
    qemu = states["kvm-config-file-qemu-conf-file-managed"]["args"]["context"]["qemu"]
    text = template(STATES / "kvm/files/default/qemu.conf.jinja", qemu=qemu)
    assert 'vnc_listen = "10.0.0.5"' in text and 'security_driver = "apparmor"' in text
    assert 'user = "root"' in text and f'vnc_password = "{"x" * 24}"' in text
    ctx = states["kvm-config-file-libvirtd-conf-file-managed"]["args"]["context"]
    text = template(STATES / "kvm/files/default/libvirtd.conf.jinja", **ctx)
    assert 'listen_addr = "10.0.0.5"' in text and 'tls_allowed_dn_list = ["CN=hv*"]' in text
    assert states["kvm-sysctl-vm.swappiness-sysctl-present"]["args"]["value"] == 1
    assert states["kvm-hugepages-mount-mounted"]["args"]["opts"] == "pagesize=1G"
    mount = states["kvm-mounts-/var/lib/libvirt/images/shared-mount-mounted"]["args"]
    assert mount["device"] == "nas:/export/images" and mount["fstype"] == "nfs"
    assert states["kvm-mounts-nfs-client-pkg-installed"]["args"]["name"] == "nfs-common"
    bridge = states["kvm-network-br-vm-file-managed"]["args"]["context"]
    text = template(STATES / "kvm/files/default/bridge.jinja", **bridge)
    assert "auto br-vm" in text and "bridge_ports eno2.42" in text
    assert "vlan" in states["kvm-network-packages-pkg-installed"]["args"]["pkgs"]
    # The bootloader is regenerated only when the drop-in changes, never on every apply.
    update = states["kvm-kernel-update-grub-cmd-run"]["args"]
    assert update["onchanges"] == [{"file": "kvm-kernel-grub-dropin-file-managed"}]
    dropin = states["kvm-kernel-grub-dropin-file-managed"]["args"]["contents"]
    assert 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on iommu=pt"' in dropin
    snippet = yaml.safe_load(
        template(
            STATES / "kvm/files/default/minion-brine.conf.jinja",
            **states["kvm-minion-snippet-file-managed"]["args"]["context"],
        )
    )
    assert "engines" not in snippet


def test_kvm_without_tls_has_no_certificates(render):
    states = render.show("kvm", merge(BASE_PILLAR, {"kvm": {"tls": {"enabled": False, "ca_server": None}}}))
    assert not [s for s in states if s.startswith("kvm-tls")]
    ctx = states["kvm-config-file-libvirtd-conf-file-managed"]["args"]["context"]
    assert "listen_tls = 0" in template(STATES / "kvm/files/default/libvirtd.conf.jinja", **ctx)
    assert states["kvm-config-file-libvirtd-defaults-file-keyvalue"]["args"]["key_values"] == {
        "LIBVIRTD_ARGS": '""'
    }


def test_kvm_ca_minion(render):
    pillar = merge(BASE_PILLAR, {"kvm": {"ca": {"subject_alt_names": {"hv2": ["10.0.0.12", "hv2.lan"]}}}})
    states = render.show("kvm.tls.ca", pillar)
    cert = states["kvm-tls-ca-cert-x509-certificate_managed"]["args"]
    assert cert["signing_private_key"] == "/etc/pki/brine-ca/ca.key"
    assert cert["basicConstraints"] == "critical, CA:true"
    snippet = yaml.safe_load(states["kvm-tls-ca-snippet-file-managed"]["args"]["contents"])
    policies = {
        name: {k: v for item in items for k, v in item.items()}
        for name, items in snippet["x509_signing_policies"].items()
    }
    # One policy per listed host (and one for its QEMU certificates), none for anyone else.
    assert sorted(policies) == [
        "brine_libvirt:hv1",
        "brine_libvirt:hv1:qemu",
        "brine_libvirt:hv2",
        "brine_libvirt:hv2:qemu",
    ]
    for host in ("hv1", "hv2"):
        policy = policies[f"brine_libvirt:{host}"]
        assert policy["minions"] == host and policy["CN"] == host
        assert policy["signing_private_key"] == "/etc/pki/brine-ca/ca.key"
        assert policy["basicConstraints"] == "critical, CA:false"
        assert policy["extendedKeyUsage"] == "serverAuth, clientAuth"
        assert policies[f"brine_libvirt:{host}:qemu"] == dict(policy, O="Brine QEMU migration")
    assert policies["brine_libvirt:hv1"]["subjectAltName"] == "DNS:hv1"
    assert policies["brine_libvirt:hv2"]["subjectAltName"] == "DNS:hv2, IP:10.0.0.12, DNS:hv2.lan"
    assert snippet["mine_functions"] == {"x509.get_pem_entries": ["/etc/pki/brine-ca/ca.crt"]}
    bad = merge(BASE_PILLAR, {"kvm": {"tls": {"hosts": [], "enabled": False}}})
    assert "kvm:tls:hosts must list the site's hypervisor minion ids" in errors_text(
        render.show("kvm.tls.ca", bad)
    )


KVM_BAD = [
    ({"qemu": {"vnc_listen": "everywhere"}}, "kvm:qemu:vnc_listen must be an IP address"),
    ({"qemu": {"security_driver": "selinux-ish"}}, "kvm:qemu:security_driver must be"),
    ({"libvirtd": {"listen_tcp": True, "auth_tcp": "none"}}, "listen_tcp with auth_tcp none"),
    ({"tls": {"ca_server": None}}, "kvm:tls:enabled needs kvm:tls:ca_server"),
    ({"sysctl": {"values": {"vm.swappiness": 900}}}, "vm.swappiness must be a number from 0 to 200"),
    ({"hugepages": {"pagesize": "huge"}}, "kvm:hugepages:pagesize must look like 2M or 1G"),
    (
        {"mounts": {"relative/dir": {"device": "x:/y", "fstype": "nfs"}}},
        "kvm:mounts:relative/dir needs an absolute mount point",
    ),
    ({"network": {"bridges": {"br0": {"vlan": 5000}}}}, "kvm:network:bridges:br0:vlan must be a VLAN id"),
    ({"kernel": {"cmdline": ["quiet; reboot"]}}, "is not a plain kernel argument"),
    ({"packages": "libvirt"}, "kvm:packages must be a list"),
    ({"minion": {"migration_uri": "qemu+tls://hv1/system"}}, "must contain {host}"),
    # VNC on the network only with a password; values that would end a quoted string early.
    (
        {"qemu": {"vnc_listen": "0.0.0.0"}},
        "kvm:qemu:vnc_listen 0.0.0.0 is not loopback: set kvm:qemu:vnc_password",
    ),
    (
        {"qemu": {"vnc_password": 'pw"\nvnc_listen = "0.0.0.0'}},
        "kvm:qemu:vnc_password must not contain quotes",
    ),
    ({"qemu": {"user": "qemu\n"}}, "kvm:qemu:user must not contain quotes"),
    ({"qemu": {"extra": {"max_files": 'a"b'}}}, "kvm:qemu:extra:max_files must be a number"),
    (
        {"libvirtd": {"extra": {"bad key": 1}}},
        "kvm:libvirtd:extra: bad key is not a configuration setting name",
    ),
    ({"libvirtd": {"log_outputs": "1:file:/x\\"}}, "kvm:libvirtd:log_outputs must not contain quotes"),
    (
        {"libvirtd": {"tls_allowed_dn_list": ['CN=a", "CN=*']}},
        "kvm:libvirtd:tls_allowed_dn_list must not contain",
    ),
    ({"libvirtd": {"listen_addr": None}}, "kvm:libvirtd:listen_addr must be the host's management address"),
    # Bridges: names, addresses and gateways as ifupdown reads them.
    ({"network": {"bridges": {"br0\n": {}}}}, "is not a valid interface name"),
    ({"network": {"bridges": {"br0": {"ports": ["eno1\nup reboot"]}}}}, "kvm:network:bridges:br0:ports:"),
    (
        {"network": {"bridges": {"br0": {"address": "10.0.0.5/24\n  up reboot"}}}},
        "kvm:network:bridges:br0:address must be",
    ),
    ({"network": {"bridges": {"br0": {"address": "10.0.0.5"}}}}, "kvm:network:bridges:br0:address must be"),
    (
        {"network": {"bridges": {"br0": {"address": "10.0.0.5/33"}}}},
        "kvm:network:bridges:br0:address must be",
    ),
    ({"network": {"bridges": {"br0": {"gateway": "gw; reboot"}}}}, "kvm:network:bridges:br0:gateway must be"),
    ({"network": {"bridges": {"br0": {"stp": "on"}}}}, "kvm:network:bridges:br0:stp must be true or false"),
    # TLS: the site's hosts by minion id, this one among them.
    ({"tls": {"hosts": ["hv2"]}}, "kvm:tls:hosts must list every hypervisor host, and lacks this one (hv1)"),
    ({"tls": {"hosts": ["hv1", "*"]}}, "kvm:tls:hosts: * is not a minion id"),
    ({"tls": {"hosts": "hv1"}}, "kvm:tls:hosts must be a list"),
    # Docker: what reaches daemon.json, the socket drop-in, certs.d and docker.url.
    ({"docker": {"socket": "docker.sock"}}, "kvm:docker:socket must be an absolute path"),
    ({"docker": {"data_root": '/var/lib/docker", "x": "'}}, "kvm:docker:data_root must be an absolute path"),
    ({"docker": {"exec_root": "/run/docker\nx"}}, "kvm:docker:exec_root must be an absolute path"),
    ({"docker": {"bip": "172.18.0.1"}}, "kvm:docker:bip must be an IPv4 address with its prefix length"),
    ({"docker": {"bip": "bridge; reboot"}}, "kvm:docker:bip must be"),
    ({"docker": {"enabled": "yes"}}, "kvm:docker:enabled must be true or false"),
    ({"docker": {"iptables": "no"}}, "kvm:docker:iptables must be true or false"),
    ({"docker": {"packages": "docker.io"}}, "kvm:docker:packages must be a list"),
    (
        {"docker": {"registry": {"name": "https://registry.example.com"}}},
        "kvm:docker:registry:name must be a registry host[:port]",
    ),
    ({"docker": {"registry": {"name": "reg/../x"}}}, "kvm:docker:registry:name must be"),
    (
        {"docker": {"registry": {"insecure": "true", "name": "r:5000"}}},
        "kvm:docker:registry:insecure must be",
    ),
    ({"docker": {"registry": {"insecure": True}}}, "insecure or ca_cert_pem needs the registry's name"),
    (
        {"docker": {"registry": {"name": "r:5000", "ca_cert_pem": "not a certificate"}}},
        "kvm:docker:registry:ca_cert_pem must be a PEM certificate",
    ),
    (
        {"docker": {"registry": {"name": "r:5000", "insecure": True, "ca_cert_pem": PEM}}},
        "insecure (plain HTTP) and ca_cert_pem (TLS) contradict each other",
    ),
]


@pytest.mark.parametrize("override,message", KVM_BAD, ids=[m for _, m in KVM_BAD])
def test_kvm_bad_values_stop_the_render(render, override, message):
    assert message in errors_text(render.show("kvm", merge(BASE_PILLAR, {"kvm": override})))


def test_kvm_lab_settings_render_and_are_allowed_only_when_said(render):
    lab = {
        "tls": {"enabled": False, "ca_server": None},
        "libvirtd": {"listen_tcp": True, "auth_tcp": "none", "allow_unauthenticated_tcp": True},
    }
    states = render.show("kvm", merge(BASE_PILLAR, {"kvm": lab}))
    ctx = states["kvm-config-file-libvirtd-conf-file-managed"]["args"]["context"]
    text = template(STATES / "kvm/files/default/libvirtd.conf.jinja", **ctx)
    assert "listen_tcp = 1" in text and 'auth_tcp = "none"' in text


# -- cluster -----------------------------------------------------------------------------------
def corosync_conf(states):
    ctx = states["cluster-config-file-corosync-conf-file-managed"]["args"]["context"]
    return template(STATES / "cluster/files/default/corosync.conf.jinja", **ctx)


def test_cluster_defaults(render):
    states = render.show("cluster")
    text = corosync_conf(states)
    assert "transport: knet" in text and "crypto_cipher: aes256" in text and "crypto_hash: sha256" in text
    assert "name: hv1\n        nodeid: 1\n        ring0_addr: 10.0.0.11" in text
    assert "name: hv2\n        nodeid: 2\n        ring0_addr: 10.0.0.12" in text
    assert "two_node: 1" in text  # exactly two nodes
    key = states["cluster-config-file-authkey-file-managed"]["args"]
    assert key["mode"] == "0400" and key["replace"] is False
    assert states["cluster-config-file-authkey-file-decode"]["args"]["encoded_data"] == AUTHKEY
    watched = states["cluster-service-running-corosync-service-running"]["args"]["watch"]
    assert {"file": "cluster-config-file-authkey-file-decode"} in watched
    # sanlock by default: its watchdog daemon, sanlock, then lvmlockd; host_id is the node id.
    assert {
        "cluster-lvm-wdmd-service-running",
        "cluster-lvm-sanlock-service-running",
        "cluster-lvm-lvmlockd-service-running",
    } <= set(states)
    assert "host_id = 1" in states["cluster-lvm-lvmlocal-conf-file-managed"]["args"]["contents"]
    assert "use_lvmlockd = 1" in states["cluster-lvm-lvmlocal-conf-file-managed"]["args"]["contents"]
    assert {"lvm2", "lvm2-lockd", "sanlock", "corosync", "pacemaker"} <= set(
        states["cluster-package-install-pkg-installed"]["args"]["pkgs"]
    )
    # Fencing: the device as a stonith primitive, loaded only when it changed.
    device = states["cluster-fencing-fence-hv1-file-managed"]["args"]["context"]
    xml = template(STATES / "cluster/files/default/stonith.xml.jinja", **device)
    assert 'class="stonith" type="fence_ipmilan"' in xml and 'name="pcmk_host_list" value="hv1"' in xml
    assert states["cluster-fencing-fence-hv1-cmd-run"]["args"]["onchanges"] == [
        {"file": "cluster-fencing-fence-hv1-file-managed"}
    ]
    assert states["cluster-fencing-property-stonith-enabled-cmd-run"]["args"]["name"].endswith(
        "--update true"
    )


def test_cluster_three_nodes_dlm(render):
    nodes = dict(NODES, hv3={"id": 3, "address": "10.0.0.13"})
    states = render.show(
        "cluster", merge(BASE_PILLAR, {"cluster": {"nodes": nodes, "lvm": {"lock_type": "dlm"}}})
    )
    text = corosync_conf(states)
    assert "nodeid: 3" in text and "two_node" not in text
    assert "cluster-lvm-dlm-service-running" in states and "cluster-lvm-sanlock-service-running" not in states
    assert "dlm-controld" in states["cluster-package-install-pkg-installed"]["args"]["pkgs"]


CLUSTER_BAD = [
    ({"nodes": {}}, "cluster:nodes is required"),
    (
        {"nodes": {"hv1": {"id": 1, "address": "10.0.0.11"}, "hv2": {"id": 1, "address": "10.0.0.12"}}},
        "node id 1 is used twice",
    ),
    ({"nodes": {"hv1": {"id": "one", "address": "10.0.0.11"}}}, "cluster:nodes:hv1:id must be a number"),
    ({"nodes": {"hv1": {"id": 1, "address": "hv1.example"}}}, "cluster:nodes:hv1:address must be"),
    ({"corosync": {"authkey": None}}, "cluster:corosync:authkey is required"),
    ({"corosync": {"authkey": base64.b64encode(b"short").decode()}}, "must be base64 of 128 to 1024 bytes"),
    ({"corosync": {"crypto_cipher": "none"}}, "crypto_cipher and crypto_hash must be set"),
    ({"corosync": {"transport": "udpu"}}, "cluster:corosync:transport must be knet"),
    ({"lvm": {"lock_type": "clvm"}}, "cluster:lvm:lock_type must be sanlock or dlm"),
    ({"fencing": {"devices": {}}}, "cluster:fencing:devices is empty"),
    ({"fencing": {"devices": {"fm": {"agent": "fence_manual"}}}}, "fence_manual needs a person"),
    ({"fencing": {"devices": {"x": {"agent": "reboot"}}}}, "agent must name a fence agent"),
    (
        {"pacemaker": {"properties": {"stonith-enabled; reboot": "true"}}},
        "is not a pacemaker cluster property name",
    ),
    # What reaches corosync.conf and the stonith fragments.
    ({"name": "brine }\ntotem {"}, "cluster:name must be 1 to 32 letters"),
    ({"nodes": {"hv1 }": {"id": 1, "address": "10.0.0.11"}}}, "cluster:nodes: hv1 } is not a minion id"),
    ({"corosync": {"authkey": AUTHKEY, "token": "3000\n}"}}, "cluster:corosync:token must be a whole number"),
    (
        {"corosync": {"authkey": AUTHKEY, "link_port": 70000}},
        "cluster:corosync:link_port must be a whole number",
    ),
    (
        {"corosync": {"authkey": AUTHKEY, "log_file": "/var/log/c.log\n}"}},
        "cluster:corosync:log_file must be",
    ),
    (
        {"fencing": {"devices": {"f": {"agent": "fence_ipmilan", "host_list": ["hv1 hv2"]}}}},
        "cluster:fencing:devices:f:host_list: hv1 hv2 is not a node name",
    ),
    (
        {"fencing": {"devices": {"f": {"agent": "fence_ipmilan", "params": {'ip" x="': "1"}}}}},
        "is not a fence agent parameter name",
    ),
    (
        {"fencing": {"devices": {"f": {"agent": "fence_ipmilan", "params": {"password": "a\nb"}}}}},
        "cluster:fencing:devices:f:params:password must be one line of text",
    ),
]


@pytest.mark.parametrize("override,message", CLUSTER_BAD, ids=[m for _, m in CLUSTER_BAD])
def test_cluster_bad_values_stop_the_render(render, override, message):
    pillar = copy.deepcopy(BASE_PILLAR)
    pillar["cluster"].update(merge(pillar["cluster"], override) if "nodes" not in override else override)
    pillar["cluster"].setdefault("corosync", {"authkey": AUTHKEY})
    pillar["cluster"].setdefault("fencing", {"devices": FENCE})
    assert message in errors_text(render.show("cluster", pillar))


def test_secrets_stay_out_of_state_returns(render):
    """Files holding a password never print a diff (a changed password would show in the return)."""
    kvm = render.show("kvm", isolated=True)
    assert kvm["kvm-config-file-qemu-conf-file-managed"]["args"]["show_changes"] is False
    cluster = render.show("cluster", isolated=True)
    assert cluster["cluster-fencing-fence-hv1-file-managed"]["args"]["show_changes"] is False


def test_cluster_fence_manual_only_when_allowed(render):
    pillar = merge(
        BASE_PILLAR,
        {"cluster": {"fencing": {"allow_manual": True, "devices": {"fm": {"agent": "fence_manual"}}}}},
    )
    pillar["cluster"]["fencing"]["devices"] = {"fm": {"agent": "fence_manual"}}
    states = render.show("cluster", pillar)
    assert "cluster-fencing-fm-file-managed" in states


def test_cluster_without_fencing_says_so_in_pacemaker(render):
    pillar = merge(BASE_PILLAR, {"cluster": {"fencing": {"enabled": False}}})
    states = render.show("cluster", pillar)
    assert states["cluster-fencing-property-stonith-enabled-cmd-run"]["args"]["name"].endswith(
        "--update false"
    )


# -- brine (master) ----------------------------------------------------------------------------
def test_brine_master_from_the_repository_files(render):
    states = render.show("brine")
    for snippet in ("brine-api.conf", "brine-eauth.conf", "brine-master.conf"):
        assert (
            states[f"brine-config-file-{snippet}-file-managed"]["args"]["source"]
            == f"{REPO}/master.d/{snippet}"
        )
    site = states["brine-config-file-nginx-site-file-managed"]["args"]
    assert site["source"] == f"{REPO}/nginx/brine.conf.j2"
    text = template(REPO / "nginx" / "brine.conf.j2", **site["context"])
    assert "listen 0.0.0.0:443 ssl;" in text and "server 127.0.0.1:8000;" in text
    assert f"root {REPO}/web;" in text
    paths = yaml.safe_load(states["brine-config-file-brine-paths-conf-file-managed"]["args"]["contents"])
    assert paths["file_roots"]["base"] == ["/srv/brine-fileroot", f"{REPO}/states"]
    # No minion may ask the CA to sign until the site names its hypervisors.
    assert "peer" not in paths
    assert states["brine-config-file-fileroot-_modules-file-symlink"]["args"]["target"] == f"{REPO}/_modules"
    init = template(
        STATES / "brine/files/default/websockify.init.jinja",
        **states["brine-config-file-websockify-unit-file-managed"]["args"]["context"],
    )
    assert f"PYTHONPATH={REPO}/console" in init and "127.0.0.1:6080" in init
    links = states["brine-config-file-websockify-rc-links-cmd-run"]["args"]
    assert links["name"] == "update-rc.d brine-websockify defaults"
    assert links["onchanges"] == [{"file": "brine-config-file-websockify-unit-file-managed"}]


def test_only_the_hypervisors_may_ask_the_ca_to_sign(render):
    pillar = merge(BASE_PILLAR, {"brine": {"master": {"x509_peers": ["hv1", "hv2.example.com"]}}})
    states = render.show("brine", pillar)
    paths = yaml.safe_load(states["brine-config-file-brine-paths-conf-file-managed"]["args"]["contents"])
    assert paths["peer"] == {r"^(hv1|hv2\.example\.com)$": ["x509.sign_remote_certificate"]}
    pattern = next(iter(paths["peer"]))
    assert re.match(pattern, "hv2.example.com") and not re.match(pattern, "hv2Xexample.com")
    assert not re.match(pattern, "hv1-rogue") and not re.match(pattern, "brine-ca")


def test_brine_master_on_systemd_gets_a_unit(render):
    states = render.show("brine", grains={"init": "systemd"}, isolated=True)
    unit = states["brine-config-file-websockify-unit-file-managed"]["args"]
    assert unit["name"] == "/etc/systemd/system/brine-websockify.service"
    assert "brine-config-file-websockify-unit-module-run" in states


WEBSOCKIFY_STATE = "brine-config-file-websockify-unit-file-managed"


def master_opts(states, folder):
    """The master's configuration as Salt reads it: a bare master file and, in master.d/ beside
    it, every master.d snippet the formula writes (copied or written from its contents)."""
    conf = folder / "etc"
    (conf / "master.d").mkdir(parents=True)
    for state in states.values():
        args = state["args"]
        if state["fun"] == "file.managed" and pathlib.Path(args["name"]).parent.name == "master.d":
            text = args["contents"] if "contents" in args else pathlib.Path(args["source"]).read_text()
            (conf / "master.d" / pathlib.Path(args["name"]).name).write_text(text)
    (conf / "master").write_text(f"root_dir: {folder / 'root'}\n")
    return salt.config.master_config(str(conf / "master"))


def websockify_reads(states):
    """(--token-source, PYTHONPATH, --auth-source) of websockify as the formula's service starts it."""
    context = states[WEBSOCKIFY_STATE]["args"]["context"]
    name = pathlib.Path(states[WEBSOCKIFY_STATE]["args"]["name"]).name
    text = template(
        STATES
        / "brine/files/default"
        / ("websockify.service.jinja" if name.endswith(".service") else "websockify.init.jinja"),
        **context,
    )
    source = re.findall(r"--token-source (\S+)", text)
    pythonpath = re.findall(r"^(?:export |Environment=)PYTHONPATH=(\S+)$", text, re.M)
    record = re.findall(r"--auth-source (\S+)", text)
    assert len(source) == 1 and len(pythonpath) == 1 and len(record) == 1, text
    return source[0], pythonpath[0].split(":"), record[0]


@pytest.mark.parametrize("grains", [{}, {"init": "systemd"}], ids=["initscripts", "systemd"])
@pytest.mark.parametrize("which", ["default", "lab"])
def test_consoles_the_runner_writes_tokens_where_websockify_reads_them(render, tmp_path, which, grains):
    if which == "lab":
        pillar, repo = lab_module().brine_pillar(tmp_path / "lab"), REPO
    else:
        pillar, repo = BASE_PILLAR, REPO
    # In a process of its own unless it is the module's usual pillar and grains (see Renderer.show).
    states = render.show("brine", pillar, grains=grains, isolated=bool(grains) or which == "lab")
    opts = master_opts(states, tmp_path)
    # What cluster.console reads (brine:console:token_dir through Brine's config helper) is the
    # folder websockify's token plugin reads (--token-source).
    written = brine_config.get("console:token_dir", brine_config.master_lookup(opts))
    source, pythonpath, record = websockify_reads(states)
    assert written == source
    # ... and both append to one console record (the runner: issued; websockify: redeemed).
    assert brine_config.get("console:record", brine_config.master_lookup(opts)) == record
    # The master's other brine: settings (brine-master.conf) survive next to it.
    assert opts["brine"]["inventory"]["timeout"] == 10
    # Brine's library: on the runners' utils_dirs, and importable by websockify's token plugin.
    assert f"{repo}/_utils" in opts["utils_dirs"]
    assert f"{repo}/_utils" in pythonpath and f"{repo}/console" in pythonpath
    # ... and served to the hosts from the file root (saltutil.sync_all syncs _utils).
    assert states["brine-config-file-fileroot-_utils-file-symlink"]["args"]["target"] == f"{repo}/_utils"


def test_kvm_hosts_sync_brines_library():
    # kvm.minion syncs when a file of these kinds differs; utils is Brine's library (_utils/brine).
    sls = (STATES / "kvm/minion/init.sls").read_text()
    assert '{%- for kind in ["modules", "engines", "states", "utils"] %}' in sls
    assert "saltutil.sync_all:" in sls


BRINE_BAD = [
    ({"x509_peers": ".*"}, "brine:master:x509_peers must be the hypervisor minion ids"),
    ({"x509_peers": ["hv1", "*"]}, "brine:master:x509_peers: * is not a minion id"),
    ({"nginx": {"api_upstream": "0.0.0.0:8000"}}, "brine:master:nginx:api_upstream must be on loopback"),
    ({"nginx": {"listen": "443"}}, "brine:master:nginx:listen must be address:port"),
    ({"repo": "srv/brine"}, "brine:master:repo must be an absolute path"),
    ({"websockify": {"token_dir": "tokens"}}, "brine:master:websockify:token_dir must be an absolute path"),
    # The registry: what reaches config.yml and the master's configuration.
    ({"registry": {"enabled": "yes"}}, "brine:master:registry:enabled must be true or false"),
    ({"registry": {"listen": "5000"}}, "brine:master:registry:listen must be address:port"),
    ({"registry": {"listen": '0.0.0.0:5000"\nx'}}, "brine:master:registry:listen must be address:port"),
    ({"registry": {"storage": "registry"}}, "brine:master:registry:storage must be an absolute path"),
    ({"registry": {"config": "/etc/x\n"}}, "brine:master:registry:config must be an absolute path"),
    ({"registry": {"tls_cert": "/etc/ssl/r.pem"}}, "brine:master:registry:tls_key must be an absolute path"),
    (
        {"registry": {"name": "http://r:5000"}},
        "brine:master:registry:name must be the registry's host[:port]",
    ),
    ({"registry": {"url": "r:5000"}}, "brine:master:registry:url must be http(s)://host[:port]"),
    (
        {"nginx": {"main": {"config": "/etc/nginx/nginx.conf"}}},
        "brine:master:nginx:main:dir must be an absolute path",
    ),
]


@pytest.mark.parametrize("override,message", BRINE_BAD, ids=[m for _, m in BRINE_BAD])
def test_brine_bad_values_stop_the_render(render, override, message):
    assert message in errors_text(render.show("brine", merge(BASE_PILLAR, {"brine": {"master": override}})))


# -- pillar.example --------------------------------------------------------------------------
def key_paths(data, prefix=()):
    for key, value in data.items():
        yield (*prefix, key)
        if isinstance(value, dict) and value:
            yield from key_paths(value, (*prefix, key))


def test_pillar_example_documents_every_default():
    example = yaml.safe_load((REPO / "pillar" / "pillar.example").read_text())
    documented = set(key_paths(example))
    for formula, root in (("kvm", ("kvm",)), ("cluster", ("cluster",)), ("brine", ("brine",))):
        defaults = yaml.safe_load((STATES / formula / "parameters" / "defaults.yaml").read_text())
        for path in key_paths(defaults):
            full = root + path if formula == "brine" else path
            assert full in documented, f"pillar.example lacks {':'.join(map(str, full))}"


# -- the lab runs the formula's configuration -----------------------------------------------
def test_lab_hosts_get_the_formulas_configuration_with_the_lab_pillar(render):
    brinelab = lab_module()
    lab = brinelab.kvm_settings("10.77.0.11", "secret")
    pillar = yaml.safe_load((REPO / "lab" / "kvm-pillar.yaml").read_text())
    pillar = merge(
        pillar,
        {
            "kvm": {
                "libvirtd": {"listen_addr": "10.77.0.11"},
                "qemu": {"vnc_listen": "10.77.0.11", "vnc_password": "secret"},
            }
        },
    )
    # Through Salt: the lab pillar passes the formula's checks and gives the same settings.
    states = render.show("kvm", merge(BASE_PILLAR, pillar))
    assert states["kvm-config-file-qemu-conf-file-managed"]["args"]["context"]["qemu"] == lab["qemu"]
    ctx = states["kvm-config-file-libvirtd-conf-file-managed"]["args"]["context"]
    assert ctx["libvirtd"] == lab["libvirtd"]
    text = template(
        STATES / "kvm/files/default/libvirtd.conf.jinja", libvirtd=lab["libvirtd"], tls=lab["tls"]
    )
    assert "listen_tcp = 1" in text and 'listen_addr = "10.77.0.11"' in text and "listen_tls = 0" in text
    text = template(STATES / "kvm/files/default/qemu.conf.jinja", qemu=lab["qemu"])
    assert (
        'user = "root"' in text and 'vnc_password = "secret"' in text and 'security_driver = "none"' in text
    )


def test_the_lab_master_is_the_brine_formula_rendered_with_the_lab_pillar(render, tmp_path):
    brinelab = lab_module()
    root = tmp_path / "lab"
    pillar = brinelab.brine_pillar(root)
    states = render.show("brine", pillar, isolated=True)
    # The lab renders the formula with Salt itself (salt-call --local state.show_sls brine), and
    # gets what Salt renders here: the lab pillar passes the formula's checks.
    assert brinelab.render_brine_formula(tmp_path / "formula", pillar) == states
    plan = brinelab.master_plan(states)
    files = {name: text for name, (text, _mode) in plan["files"].items()}
    master_d = root / "salt" / "etc" / "master.d"
    for snippet in ("brine-api.conf", "brine-eauth.conf", "brine-master.conf"):
        assert files.pop(str(master_d / snippet)) == (REPO / "master.d" / snippet).read_text()
    paths = yaml.safe_load(files.pop(str(master_d / "brine-paths.conf")))
    assert paths["file_roots"]["base"] == [str(root / "salt" / "srv"), f"{REPO}/states"]
    assert paths["runner_dirs"] == [f"{REPO}/_runners"] and paths["utils_dirs"] == [f"{REPO}/_utils"]
    assert paths["brine"]["console"]["token_dir"] == str(root / "console-tokens")
    assert plan["symlinks"] == {
        str(root / "salt" / "srv" / f): f"{REPO}/{f}" for f in ("_modules", "_engines", "_states", "_utils")
    }
    # The site: the formula's nginx/brine.conf.j2 with the lab's listen, origin and certificate.
    site = files.pop(str(root / "nginx" / "brine-site.conf"))
    assert site.rstrip("\n") == template(REPO / "nginx" / "brine.conf.j2", **plan["nginx_site"]).rstrip("\n")
    assert "listen 127.0.0.1:8443 ssl;" in site and '"https://127.0.0.1:8443" 1;' in site
    assert f"ssl_certificate     {root}/tls/brine.crt;" in site and f"root {REPO}/web;" in site
    assert "server 127.0.0.1:8000;" in site and "server 127.0.0.1:6080;" in site
    assert brinelab.URL == f"https://{pillar['brine']['master']['nginx']['listen']}/"
    # nginx's main configuration: the formula's, serving the site alone, as root in the lab only.
    main = files.pop(str(root / "nginx" / "nginx.conf"))
    assert "user root root;" in main and f"include {root}/nginx/brine-site.conf;" in main
    assert f"pid {root}/nginx/nginx.pid;" in main
    assert sorted(plan["directories"]) == [f"{root}/catalog", f"{root}/nginx/tmp", f"{root}/registry/storage"]
    # The site's registry: the formula's config.yml, which the lab's docker-registry serves.
    registry = files.pop(str(root / "registry" / "config.yml"))
    expected = template(STATES / "brine/files/default/registry.yml.jinja", registry=plan["registry"])
    assert registry.rstrip("\n") == expected
    registry = yaml.safe_load(registry)
    assert registry["http"]["addr"] == "10.77.0.1:5000"
    assert registry["storage"]["filesystem"]["rootdirectory"] == f"{root}/registry/storage"
    assert plan["registry"]["config"] == str(root / "registry" / "config.yml")
    # The master's containers runner reads the lab's registry where the hosts pull from it.
    assert paths["brine"]["containers"] == {
        "registry": "brine-master:5000",
        "registry_url": f"http://{brinelab.BRIDGE_ADDRESS}:5000",
    }
    # The provisioning catalog: one folder for the runner (brine:provision:catalog_dir) and the
    # ext_pillar that serves it to states.
    assert paths["brine"]["provision"]["catalog_dir"] == str(root / "catalog")
    assert paths["pillar_dirs"] == [f"{REPO}/_pillar"] and paths["ext_pillar"] == [
        {"brine_catalog": {}},
        {"brine_landscape": {}},
    ]
    assert paths["brine"]["landscape"] == {"confd": "", "host": ""}
    assert not files, f"files the test does not check: {sorted(files)}"
    assert not (REPO / "lab" / "templates" / "nginx.conf.j2").exists()
    # websockify: the init script's command line, token folder and PYTHONPATH.
    websockify = plan["websockify"]
    init = template(
        STATES / "brine/files/default/websockify.init.jinja", **states[WEBSOCKIFY_STATE]["args"]["context"]
    )
    assert (
        f"DAEMON={websockify['program']}\n" in init
        and f"export PYTHONPATH={websockify['pythonpath']}\n" in init
    )
    assert f'--exec "$DAEMON" -- {" ".join(websockify["args"])}\n' in init
    assert websockify["program"] == str(brinelab.VENV_BIN / "websockify")


def test_the_lab_starts_websockify_with_the_formulas_command_line(render, tmp_path, monkeypatch):
    brinelab = lab_module()
    lab = brinelab.Lab(root=tmp_path / "lab")
    plan = brinelab.master_plan(render.show("brine", brinelab.brine_pillar(lab.root), isolated=True))
    lab._master_plan = plan  # pylint: disable=protected-access
    started = {}

    class Popen:  # pylint: disable=too-few-public-methods
        def __init__(self, args, env, **_kwargs):
            started.update(args=[str(a) for a in args], env=env)
            self.pid = 4242

    monkeypatch.setattr(brinelab.subprocess, "Popen", Popen)
    monkeypatch.setattr(brinelab.Lab, "wait", staticmethod(lambda *_args: None))
    lab.start_console_proxy()
    websockify = plan["websockify"]
    assert started["args"] == [websockify["program"], *websockify["args"]]
    assert started["env"]["PYTHONPATH"] == websockify["pythonpath"]
    assert lab.console_tokens == pathlib.Path(websockify["token_dir"]) and lab.console_tokens.is_dir()
    assert oct(lab.console_tokens.stat().st_mode & 0o777) == "0o700"


def test_the_masters_python_packages_are_the_pinned_ones():
    """pykickstart goes into Salt's own environment at the version requirements.txt pins."""
    defaults = yaml.safe_load((STATES / "brine/parameters/defaults.yaml").read_text())["master"]
    pins = set((REPO / "requirements.txt").read_text().split())
    assert defaults["python_packages"]["pkgs"] == ["pykickstart==3.78"]
    assert set(defaults["python_packages"]["pkgs"]) <= pins
    install = (STATES / "brine/package/install.sls").read_text()
    assert "pip.installed" in install and "brine.python_packages.bin_env" in install


def test_the_hosts_python_packages_are_the_pinned_ones():
    """saltext-virt (the landscape formula's pool states) goes into the host's Salt environment."""
    defaults = yaml.safe_load((STATES / "kvm/parameters/defaults.yaml").read_text())["kvm"]
    pins = set((REPO / "requirements.txt").read_text().split())
    assert defaults["python_packages"]["pkgs"] == [
        "saltext.virt==0.1.0",
        # Brine's containers module and engine (docs/containers.md), on every host.
        "docker==7.1.0",
        "saltext.dockermod==0.1.3",
    ]
    assert set(defaults["python_packages"]["pkgs"]) <= pins
    install = (STATES / "kvm/package/install.sls").read_text()
    assert "pip.installed" in install and "kvm.python_packages.bin_env" in install


# -- landscape --------------------------------------------------------------------------------------
def test_landscape_renders_the_hosts_part_of_the_worked_site(render):
    """hv1's part of pillar.example's landscape: saltext-virt's pool and volume states, Brine's
    network and guest states, each guest after what it needs."""
    # In a process of its own: in one process, Callers with other pillars have been seen to hand
    # the host module another Caller's pillar.
    states = render.show("landscape", FULL_PILLAR, isolated=True)
    assert isinstance(states, dict), states
    by_fun = {}
    for state_id, state in states.items():
        by_fun.setdefault(state["fun"], []).append(state_id)
    assert sorted(by_fun["virt.pool_running"]) == [
        "landscape-pool-images-virt-pool_running",
        "landscape-pool-shared-virt-pool_running",
    ]
    images = states["landscape-pool-images-virt-pool_running"]["args"]
    assert images["ptype"] == "dir" and images["target"] == "/var/lib/libvirt/images", images
    assert sorted(by_fun["landscape.network"]) == [
        "landscape-network-backend-landscape-network",
        "landscape-network-lan-landscape-network",
        "landscape-network-service-landscape-network",
    ]
    # hv1's guests only (web-2, db-1 and satellite are hv2's).
    assert sorted(by_fun["landscape.guest"]) == [
        "landscape-guest-db-2-landscape-guest",
        "landscape-guest-proxy-1-landscape-guest",
        "landscape-guest-web-1-landscape-guest",
    ]
    volumes = {sid: states[sid]["args"] for sid in by_fun["landscape.volume"]}
    web1 = volumes["landscape-volume-images/web-1-disk0.qcow2-landscape-volume"]
    assert web1["pool"] == "images" and web1["name"] == "web-1-disk0.qcow2", web1
    assert web1["require"] == [{"virt": "landscape-pool-images-virt-pool_running"}]
    assert "landscape-volume-images/rhel9-base.qcow2-landscape-volume" in volumes
    requires = states["landscape-guest-db-2-landscape-guest"]["args"]["require"]
    assert {"landscape": "landscape-network-service-landscape-network"} in requires
    assert {"landscape": "landscape-network-backend-landscape-network"} in requires
    assert {"landscape": "landscape-volume-images/db-2-disk0.qcow2-landscape-volume"} in requires, requires


def test_landscape_refuses_an_invalid_site_with_its_reason(render):
    pillar = copy.deepcopy(FULL_PILLAR)
    pillar["landscape"]["guests"]["web-2"]["ip"] = "192.168.155.11"
    text = errors_text(render.show("landscape", pillar, isolated=True))
    assert "web-1" in text and "web-2" in text and "192.168.155.11" in text, text


# -- Docker on the hosts, the site's registry on the master (docs/containers.md) -----------------
def daemon_json(states):
    args = states["kvm-docker-config-file-managed"]["args"]
    return json.loads(template(STATES / "kvm/files/default/daemon.json.jinja", **args["context"]))


def minion_snippet(states):
    args = states["kvm-minion-snippet-file-managed"]["args"]
    return yaml.safe_load(template(STATES / "kvm/files/default/minion-brine.conf.jinja", **args["context"]))


def test_kvm_docker_is_off_by_default(render):
    # In a process of its own: in one process, a Caller has been seen to render with another
    # Caller's pillar (FULL_PILLAR's, which turns Docker on).
    states = render.show("kvm", isolated=True)
    assert not [s for s in states if s.startswith("kvm-docker")]
    snippet = minion_snippet(states)
    assert "docker.url" not in snippet
    assert {"brine_containers": {}} not in snippet["engines"]


def test_kvm_docker_on_an_init_script_host(render):
    pillar = merge(
        BASE_PILLAR,
        {
            "kvm": {"docker": {"enabled": True, "bip": "172.18.0.1/24", "registry": {"insecure": True}}},
            # The registry's name comes from the site's brine:containers:registry.
            "brine": {"containers": {"registry": "brine-master:5000"}},
        },
    )
    states = render.show("kvm", pillar)
    assert states["kvm-docker-package-pkg-installed"]["args"]["pkgs"] == ["docker.io"]
    config = states["kvm-docker-config-file-managed"]["args"]
    assert config["name"] == "/etc/docker/daemon.json" and config["template"] == "jinja"
    assert config["source"] == "salt://kvm/files/default/daemon.json.jinja"
    assert daemon_json(states) == {
        "data-root": "/var/lib/docker",
        "exec-root": "/var/run/docker",
        "hosts": ["unix:///run/docker.sock"],
        "bip": "172.18.0.1/24",
        "insecure-registries": ["brine-master:5000"],
        "iptables": True,
    }
    # The engine restarts when daemon.json changes; no systemd socket here.
    service = states["kvm-docker-service-running"]["args"]
    assert service["name"] == "docker" and service["enable"] is True
    assert service["watch"] == [{"file": "kvm-docker-config-file-managed"}]
    assert not [s for s in states if "socket" in s or "registry-ca" in s]
    # The minion: saltext-dockermod's docker.url and the brine_containers engine.
    snippet = minion_snippet(states)
    assert snippet["docker.url"] == "unix:///run/docker.sock"
    assert snippet["engines"] == [{"brine_events": {}}, {"brine_installs": {}}, {"brine_containers": {}}]
    # The whole formula includes it (kvm.docker only with kvm:docker:enabled).
    assert "- .docker" in (STATES / "kvm/init.sls").read_text()


def test_kvm_docker_defaults_in_daemon_json(render):
    states = render.show("kvm", merge(BASE_PILLAR, {"kvm": {"docker": {"enabled": True}}}))
    assert daemon_json(states) == {
        "data-root": "/var/lib/docker",
        "exec-root": "/var/run/docker",
        "hosts": ["unix:///run/docker.sock"],
        "iptables": True,
    }


def test_kvm_docker_on_a_systemd_host_gives_docker_socket_the_socket(render):
    pillar = merge(BASE_PILLAR, {"kvm": {"docker": {"enabled": True, "socket": "/run/brine/docker.sock"}}})
    states = render.show("kvm", pillar, grains={"init": "systemd"}, isolated=True)
    # docker.service runs `dockerd -H fd://`: "hosts" in daemon.json too would stop it.
    assert "hosts" not in daemon_json(states)
    dropin = states["kvm-docker-socket-dropin-file-managed"]["args"]
    assert dropin["name"] == "/etc/systemd/system/docker.socket.d/brine.conf"
    assert "[Socket]\nListenStream=\nListenStream=/run/brine/docker.sock\n" in dropin["contents"]
    assert states["kvm-docker-systemd-reload-module-run"]["args"]["onchanges"] == [
        {"file": "kvm-docker-socket-dropin-file-managed"}
    ]
    socket = states["kvm-docker-socket-service-running"]["args"]
    assert socket["name"] == "docker.socket" and socket["watch"] == [
        {"file": "kvm-docker-socket-dropin-file-managed"}
    ]
    assert {"service": "kvm-docker-socket-service-running"} in states["kvm-docker-service-running"]["args"][
        "watch"
    ]
    assert minion_snippet(states)["docker.url"] == "unix:///run/brine/docker.sock"


def test_kvm_docker_trusts_the_registrys_ca(render):
    pillar = merge(
        BASE_PILLAR,
        {
            "kvm": {
                "docker": {
                    "enabled": True,
                    "registry": {"name": "registry.example.com:5000", "ca_cert_pem": PEM},
                }
            }
        },
    )
    states = render.show("kvm", pillar)
    ca = states["kvm-docker-registry-ca-file-managed"]["args"]
    assert ca["name"] == "/etc/docker/certs.d/registry.example.com:5000/ca.crt"
    assert ca["contents"] == PEM and ca["mode"] == "0644"
    assert "insecure-registries" not in daemon_json(states)


def test_kvm_clean_removes_docker(render):
    pillar = merge(BASE_PILLAR, {"kvm": {"docker": {"registry": {"name": "r.example.com"}}}})
    states = render.show("kvm.clean", pillar)
    assert states["kvm-docker-clean-service-dead"]["args"]["name"] == "docker"
    assert states["kvm-docker-clean-file-absent"]["args"]["names"] == [
        "/etc/docker/daemon.json",
        "/etc/systemd/system/docker.socket.d/brine.conf",
        "/etc/docker/certs.d/r.example.com",
    ]
    assert states["kvm-docker-clean-pkg-removed"]["args"]["pkgs"] == ["docker.io"]


def registry_config(states):
    args = states["brine-registry-config-file-managed"]["args"]
    return yaml.safe_load(template(STATES / "brine/files/default/registry.yml.jinja", **args["context"]))


def brine_paths(states):
    return yaml.safe_load(states["brine-config-file-brine-paths-conf-file-managed"]["args"]["contents"])


def test_brine_registry_is_off_by_default(render):
    states = render.show("brine")
    assert not [s for s in states if s.startswith("brine-registry")]
    assert "containers" not in brine_paths(states)["brine"]


def test_brine_registry_plain_http(render):
    pillar = merge(
        BASE_PILLAR, {"brine": {"master": {"registry": {"enabled": True, "name": "brine-master:5000"}}}}
    )
    states = render.show("brine", pillar)
    assert states["brine-registry-package-pkg-installed"]["args"]["pkgs"] == ["docker-registry"]
    storage = states["brine-registry-storage-file-directory"]["args"]
    assert storage["name"] == "/var/lib/docker-registry" and storage["user"] == "docker-registry"
    config = states["brine-registry-config-file-managed"]["args"]
    assert config["name"] == "/etc/docker/registry/config.yml"
    text = registry_config(states)
    assert text["http"]["addr"] == "0.0.0.0:5000" and "tls" not in text["http"]
    assert text["storage"]["filesystem"]["rootdirectory"] == "/var/lib/docker-registry"
    assert text["storage"]["delete"] == {"enabled": False}
    service = states["brine-registry-service-running"]["args"]
    assert service["name"] == "docker-registry"
    assert service["watch"] == [{"file": "brine-registry-config-file-managed"}]
    # The master's containers runner learns the registry's name and where to read its catalog.
    assert brine_paths(states)["brine"]["containers"] == {
        "registry": "brine-master:5000",
        "registry_url": "http://127.0.0.1:5000",
    }
    assert "- .registry" in (STATES / "brine/init.sls").read_text()


def test_brine_registry_with_tls(render):
    registry = {
        "enabled": True,
        "name": "registry.example.com",
        "listen": "10.0.0.2:443",
        "tls_cert": "/etc/ssl/registry.pem",
        "tls_key": "/etc/ssl/private/registry.key",
    }
    states = render.show("brine", merge(BASE_PILLAR, {"brine": {"master": {"registry": registry}}}))
    text = registry_config(states)
    assert text["http"]["addr"] == "10.0.0.2:443"
    assert text["http"]["tls"] == {
        "certificate": "/etc/ssl/registry.pem",
        "key": "/etc/ssl/private/registry.key",
    }
    assert brine_paths(states)["brine"]["containers"]["registry_url"] == "https://registry.example.com"


def test_brine_clean_stops_the_registry(render):
    states = render.show("brine.clean")
    assert states["brine-registry-clean-service-dead"]["args"]["name"] == "docker-registry"
    assert states["brine-registry-clean-pkg-removed"]["args"]["pkgs"] == ["docker-registry"]


# -- the lab's Docker is the formulas' ------------------------------------------------------------
def lab_pillar(name):
    return yaml.safe_load((REPO / "lab" / name).read_text())


def test_the_lab_hosts_docker_is_the_kvm_formulas_with_the_lab_pillar(render):
    brinelab = lab_module()
    lab = brinelab.docker_settings()
    pillar = merge(BASE_PILLAR, {"kvm": lab_pillar("kvm-pillar.yaml")["kvm"]})
    states = render.show("kvm", pillar)
    # Through Salt: the lab pillar passes the formula's checks and gives the lab's settings.
    assert states["kvm-docker-config-file-managed"]["args"]["context"]["docker"] == lab
    assert daemon_json(states) == {
        "data-root": "/var/lib/docker",
        "exec-root": "/var/run/docker",
        "hosts": ["unix:///run/docker/docker.sock"],
        "bip": "172.31.0.1/24",
        "insecure-registries": ["brine-master:5000"],
        "iptables": True,
    }
    # The registry the hosts trust is the one the brine formula runs for the lab.
    master = lab_pillar("brine-pillar.yaml")["brine"]["master"]["registry"]
    assert lab["registry"]["name"] == master["name"]
    # The lab's minion config has what the formula's snippet has for Docker.
    snippet = minion_snippet(states)
    minion = yaml.safe_load(
        template(
            REPO / "lab" / "templates" / "minion.conf.j2",
            host="hv1",
            minion_root="/x",
            bridge_address="10.77.0.1",
            docker_url=lab["url"],
        )
    )
    assert minion["docker.url"] == snippet["docker.url"] == "unix:///run/docker/docker.sock"
    assert minion["engines"] == snippet["engines"]


def test_the_lab_starts_each_engine_in_its_hosts_namespaces(tmp_path, monkeypatch):
    brinelab = lab_module()
    lab = brinelab.Lab(root=tmp_path / "lab")
    started = []

    class Popen:  # pylint: disable=too-few-public-methods
        def __init__(self, args, **kwargs):
            started.append((args, kwargs))

    monkeypatch.setattr(brinelab.Lab, "libvirtd_pid", lambda _self, host: {"hv1": 101, "hv2": 202}[host])
    monkeypatch.setattr(brinelab.subprocess, "Popen", Popen)
    lab.start_engines(["hv1", "hv2"])
    for (args, kwargs), (host, pid) in zip(started, (("hv1", 101), ("hv2", 202)), strict=True):
        # The host's network, UTS and mount namespaces (entered through its libvirtd), then a
        # child mount namespace where the cgroups are mounted: libvirtd's own gets none.
        assert args[:8] == ["nsenter", "-t", str(pid), "-m", "-u", "-n", "--", "unshare"]
        assert args[8:14] == ["--mount", "--propagation", "private", "--", "/bin/sh", "-c"]
        script = args[14]
        assert "mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory" in script
        assert (
            "exec dockerd --config-file '/etc/docker/daemon.json' --pidfile '/run/docker/docker.pid'"
            in script
        )
        assert f"mount --bind '{lab.host_dir(host)}/docker/containerd' '/run/containerd'" in script
        assert kwargs["start_new_session"] is True
        # daemon.json: the formula's template with the lab's settings, in the host's /etc/docker.
        written = (lab.host_dir(host) / "docker" / "etc" / "daemon.json").read_text()
        expected = template(STATES / "kvm/files/default/daemon.json.jinja", docker=brinelab.docker_settings())
        assert written.rstrip("\n") == expected.rstrip("\n")
    # The host's own folders, bind-mounted in its mount namespace by start_host.
    assert lab.docker_host_mounts("hv1") == {
        "/var/lib/docker": lab.host_dir("hv1") / "docker" / "lib",
        "/run/docker": lab.host_dir("hv1") / "docker" / "run",
        "/etc/docker": lab.host_dir("hv1") / "docker" / "etc",
    }
    assert lab.docker_socket("hv1") == lab.host_dir("hv1") / "docker" / "run" / "docker.sock"
