"""
What each node of a virtual cluster is told (``brine.vcluster_config``, issue 13): pragma's
vc-out.xml for the frontend and a compute, node.env sourced by a real /bin/sh and busybox, the
FAT config disk read back with mtools, and every refusal before anything is built.
"""

import copy
import os
import shutil
import stat
import subprocess
from xml.etree import ElementTree

import pytest

from brine import vcluster_config
from brine.errors import Invalid
from brine.errors import Refused
from support.kickstarts import ED25519_KEY

KEY_BODY = ED25519_KEY.rsplit(" ", 1)[0]

CLUSTER = {
    "name": "vc1",
    "public": {
        "fqdn": "vc1.example.org",
        "ip": "192.0.2.10",
        "netmask": "255.255.255.0",
        "gateway": "192.0.2.1",
        "mac": "52:54:00:00:01:01",
    },
    "private": {"subnet": "10.1.0.0/16", "netmask": "255.255.0.0", "gateway": "10.1.0.1"},
    "dns": {"servers": ["192.0.2.53", "192.0.2.54"], "search": ["example.org", "lab"], "domain": "vc1.lab"},
    "ssh_key": ED25519_KEY,
    "nodes": {
        "frontend": {"name": "vc1-fe", "mac": "52:54:00:00:01:02", "ip": "10.1.0.1", "cpus": 2},
        "computes": [
            {"name": "vc1-c0", "mac": "52:54:00:00:01:03", "ip": "10.1.0.2", "cpus": 1, "host": "hv1"},
            {"name": "vc1-c1", "mac": "52:54:00:00:01:04", "ip": "10.1.0.3", "cpus": 4, "host": "hv2"},
        ],
    },
}

FRONTEND_XML = f"""\
<vc>
  <frontend>
    <public fqdn="vc1.example.org" ip="192.0.2.10" netmask="255.255.255.0" gw="192.0.2.1" mac="52:54:00:00:01:01" />
    <private ip="10.1.0.1" netmask="255.255.0.0" mac="52:54:00:00:01:02" />
  </frontend>
  <compute count="2">
    <node name="vc1-c0" mac="52:54:00:00:01:03" ip="10.1.0.2" cpus="1" />
    <node name="vc1-c1" mac="52:54:00:00:01:04" ip="10.1.0.3" cpus="4" />
  </compute>
  <network>
    <dns ip="192.0.2.53,192.0.2.54" search="example.org lab" domain="vc1.lab" />
  </network>
  <key>{ED25519_KEY}</key>
</vc>
"""  # noqa: E501

COMPUTE_XML = f"""\
<vc>
  <frontend>
    <public fqdn="vc1.example.org" />
  </frontend>
  <compute>
    <private fqdn="vc1-c1.vc1.lab" ip="10.1.0.3" netmask="255.255.0.0" gw="10.1.0.1" mac="52:54:00:00:01:04" />
  </compute>
  <network>
    <dns ip="192.0.2.53,192.0.2.54" search="example.org lab" domain="vc1.lab" />
  </network>
  <key>{ED25519_KEY}</key>
</vc>
"""  # noqa: E501


def cluster(**paths):
    """CLUSTER with changes: ``{"public.ip": "x"}``-style dotted paths (list indexes as digits)."""
    changed = copy.deepcopy(CLUSTER)
    for path, value in paths.items():
        *parents, last = path.split(".")
        target = changed
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if last.isdigit():
            target[int(last)] = value
        elif value is KeyError:
            del target[last]
        else:
            target[last] = value
    return changed


def computes(count):
    return [
        {
            "name": f"c{i}",
            "mac": f"52:54:00:01:{i // 256:02x}:{i % 256:02x}",
            "ip": f"10.1.{i // 250 + 1}.{i % 250 + 2}",
            "cpus": 1,
        }
        for i in range(count)
    ]


# ---- vc-out.xml


def test_frontend_vc_out_is_pragmas_format():
    assert vcluster_config.vc_out_frontend(CLUSTER) == FRONTEND_XML


def test_compute_vc_out_is_pragmas_format():
    assert vcluster_config.vc_out_compute(CLUSTER, "vc1-c1") == COMPUTE_XML


def test_no_key_element_without_a_key_and_defaults_fill_in():
    changed = cluster(
        **{"ssh_key": None, "private.gateway": KeyError, "dns.search": KeyError, "dns.domain": ""}
    )
    root = ElementTree.fromstring(vcluster_config.vc_out_compute(changed, "vc1-c0"))
    assert root.find("key") is None
    # The private gateway is the frontend's private address when none is given (pragma's way).
    assert root.find("compute/private").attrib["gw"] == "10.1.0.1"
    assert root.find("compute/private").attrib["fqdn"] == "vc1-c0"
    assert root.find("network/dns").attrib == {"ip": "192.0.2.53,192.0.2.54", "search": "", "domain": ""}


def test_a_cluster_of_a_frontend_alone():
    alone = cluster(**{"nodes.computes": []})
    assert ElementTree.fromstring(vcluster_config.vc_out_frontend(alone)).find("compute").attrib == {
        "count": "0"
    }
    assert 'BRINE_COMPUTES=""' in vcluster_config.node_env(alone, "vc1-fe")
    with pytest.raises(Invalid, match="is not a compute node"):
        vcluster_config.vc_out_compute(alone, "vc1-c0")


def test_prefix_netmask_and_upper_case_mac_are_normalized():
    changed = cluster(
        **{"public.netmask": 24, "public.mac": "52:54:00:AB:CD:EF", "private.netmask": KeyError}
    )
    public = ElementTree.fromstring(vcluster_config.vc_out_frontend(changed)).find("frontend/public")
    assert public.attrib["netmask"] == "255.255.255.0"
    assert public.attrib["mac"] == "52:54:00:ab:cd:ef"


def test_xml_escapes_what_a_key_comment_may_hold():
    key = f"{KEY_BODY} a<b>&c"
    text = vcluster_config.vc_out_frontend(cluster(ssh_key=key))
    assert "<b>" not in text and "a&lt;b&gt;&amp;c</key>" in text
    assert ElementTree.fromstring(text).find("key").text == key


@pytest.mark.parametrize(
    "changes",
    [
        {"dns.domain": 'x"/><evil/>'},
        {"dns.search": ["ok", "a<b"]},
        {"public.fqdn": "vc1.example.org\"><evil x='"},
        {"nodes.computes.0.name": "c0&amp;"},
        {"name": "vc1</vc>"},
        {"ssh_key": f"{KEY_BODY} x\n<evil/>"},
        {"ssh_key": f'{KEY_BODY} a"b'},
    ],
)
def test_hostile_values_are_refused_before_anything_is_built(changes, monkeypatch):
    built = []
    monkeypatch.setattr(vcluster_config.ElementTree, "Element", lambda *a, **k: built.append(a))
    for make in (
        vcluster_config.vc_out_frontend,
        lambda c: vcluster_config.vc_out_compute(c, "vc1-c0"),
        lambda c: vcluster_config.node_env(c, "vc1-fe"),
    ):
        with pytest.raises(Invalid):
            make(cluster(**changes))
    assert built == []


def test_vc_out_compute_refuses_a_node_that_is_not_a_compute():
    for node in ("vc1-fe", "nope", None):
        with pytest.raises(Invalid, match="is not a compute node of vc1"):
            vcluster_config.vc_out_compute(CLUSTER, node)


# ---- Checks


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"extra": 1}, "unknown key 'extra'"),
        ({"public.mask": "255.255.255.0"}, "unknown key 'mask'"),
        ({"private.gw": "10.1.0.1"}, "unknown key 'gw'"),
        ({"dns.server": []}, "unknown key 'server'"),
        ({"nodes.spare": []}, "unknown key 'spare'"),
        ({"name": KeyError}, "cluster.name is required"),
        ({"name": "vc_1"}, "name must be a host name"),
        ({"name": "-vc"}, "name must be a host name"),
        ({"name": "a" * 64}, "name must be a host name"),
        ({"public": "192.0.2.10"}, "public must be a mapping"),
        ({"public.ip": "192.0.2.300"}, "public.ip must be an IPv4 address"),
        ({"public.ip": "2001:db8::1"}, "public.ip must be an IPv4 address"),
        ({"public.ip": 3221225994}, "public.ip must be an IPv4 address"),
        ({"public.ip": "192.0.2.0"}, "not a host address of 192.0.2.0/24"),
        ({"public.ip": "192.0.2.255"}, "not a host address of 192.0.2.0/24"),
        ({"public.netmask": "255.0.255.0"}, "public.netmask must be a netmask"),
        ({"public.netmask": "0.0.0.255"}, "public.netmask must be a netmask"),
        ({"public.netmask": True}, "public.netmask must be a netmask"),
        ({"public.netmask": "255.255.255.254"}, "at most /30"),
        ({"public.gateway": "192.0.3.1"}, "public.gateway 192.0.3.1 is not a host address"),
        ({"public.gateway": "192.0.2.10"}, "frontend's own address"),
        ({"public.mac": "52:54:00:00:01"}, "public.mac must be a MAC address"),
        ({"public.mac": 525400000101}, "public.mac must be a MAC address"),
        ({"public.mac": "01:00:5e:00:00:01"}, "multicast"),
        ({"public.fqdn": "vc1..example.org"}, "public.fqdn must be a DNS name"),
        ({"public.fqdn": ("a" * 60 + ".") * 5 + "org"}, "at most 253 characters"),
        ({"public.fqdn": KeyError}, "public.fqdn is required"),
        ({"private.subnet": "10.1.0.0"}, "CIDR form"),
        ({"private.subnet": "10.1.0.1/16"}, "CIDR form"),
        ({"private.subnet": "10.1.0.0/31"}, "too small"),
        ({"private.netmask": "255.255.255.0"}, "must be the subnet's netmask 255.255.0.0"),
        ({"private.gateway": "10.2.0.1"}, "private.gateway 10.2.0.1 is not a host address"),
        ({"private.gateway": "10.1.0.3"}, "is the address of compute vc1-c1"),
        (
            {"private.subnet": "192.0.2.0/25", "private.netmask": KeyError, "private.gateway": KeyError},
            "overlaps the public network",
        ),
        ({"dns.servers": []}, "1 to 3 IPv4 addresses"),
        ({"dns.servers": ["192.0.2.1"] * 4}, "1 to 3 IPv4 addresses"),
        ({"dns.servers": "192.0.2.53"}, "1 to 3 IPv4 addresses"),
        ({"dns.servers": ["8.8.8.8", "dns.google"]}, r"dns.servers\[1\] must be an IPv4 address"),
        ({"dns.search": ["a"] * 7}, "at most 6 DNS names"),
        ({"dns.search": "example.org"}, "at most 6 DNS names"),
        ({"dns.domain": 0}, "dns.domain must be a DNS name"),
        ({"ssh_key": "not a key"}, "ssh_key"),
        ({"ssh_key": 5}, "ssh_key"),
        ({"nodes.frontend": KeyError}, "nodes.frontend is required"),
        ({"nodes.frontend.cpus": KeyError}, "nodes.frontend.cpus is required"),
        (
            {"nodes.frontend.ip": "10.2.0.9"},
            "nodes.frontend.ip 10.2.0.9 is not a host address of 10.1.0.0/16",
        ),
        ({"nodes.computes": computes(257)}, "at most 256 compute nodes"),
        ({"nodes.computes": {"vc1-c0": {}}}, "at most 256 compute nodes"),
        ({"nodes.computes.0": "vc1-c0"}, r"nodes.computes\[0\] must be a mapping"),
        ({"nodes.computes.1.name": "vc1_c1"}, r"nodes.computes\[1\].name must be a host name"),
        ({"nodes.computes.1.ip": "10.1.255.255"}, "not a host address"),
        ({"nodes.computes.1.cpus": 0}, "from 1 to 256"),
        ({"nodes.computes.1.cpus": 257}, "from 1 to 256"),
        ({"nodes.computes.1.cpus": True}, "from 1 to 256"),
        ({"nodes.computes.1.cpus": "2"}, "from 1 to 256"),
        ({"nodes.computes.1.name": "VC1-FE"}, "node VC1-FE has the name VC1-FE of vc1-fe too"),
        ({"nodes.computes.1.ip": "10.1.0.2"}, "node vc1-c1 has the ip 10.1.0.2 of vc1-c0 too"),
        ({"nodes.computes.1.mac": "52:54:00:00:01:02"}, "has the mac 52:54:00:00:01:02 of vc1-fe too"),
        ({"nodes.computes.1.mac": "52:54:00:00:01:01"}, "has the mac 52:54:00:00:01:01 of public too"),
        ({"nodes.computes.1.name": "a" * 63, "dns.domain": ("b" * 60 + ".") * 4 + "lab"}, "longer than 253"),
    ],
)
def test_check_refuses_with_the_field_named(changes, words):
    with pytest.raises(Invalid, match=words) as caught:
        vcluster_config.check(cluster(**changes))
    assert caught.value.code == "invalid_argument"


def test_check_refuses_what_is_not_a_mapping_and_cuts_long_values_short():
    with pytest.raises(Invalid, match="the cluster must be a mapping"):
        vcluster_config.check(["vc1"])
    with pytest.raises(Invalid) as caught:
        vcluster_config.check(cluster(name="x" * 5000))
    assert len(caught.value.sentence) < 200


def test_check_takes_the_most_computes_and_leaves_its_input_alone():
    big = cluster(**{"nodes.computes": computes(256), "private.gateway": "10.1.255.254"})
    before = copy.deepcopy(big)
    facts = vcluster_config.check(big)
    assert len(facts["computes"]) == 256
    assert big == before


# ---- node.env


def source(text, tmp_path, shell, names):
    """``text`` sourced by ``shell`` (an argument list), the values of ``names`` read back."""
    path = tmp_path / "node.env"
    path.write_text(text)
    script = '. "$1"; shift; for n in "$@"; do eval "printf \'%s\\n\' \\"\\$$n\\""; done'
    done = subprocess.run(
        [*shell, "-c", script, "sh", str(path), *names], capture_output=True, text=True, check=True
    )
    return dict(zip(names, done.stdout.split("\n"), strict=False))


SHELLS = [["/bin/sh"]] + ([[shutil.which("busybox"), "sh"]] if shutil.which("busybox") else [])


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_frontend_env_is_sourced_by_sh(shell, tmp_path):
    text = vcluster_config.node_env(CLUSTER, "vc1-fe")
    facts = source(
        text,
        tmp_path,
        shell,
        [
            "BRINE_NODE",
            "BRINE_ROLE",
            "BRINE_PRIVATE_IP",
            "BRINE_PRIVATE_PREFIX",
            "BRINE_GATEWAY",
            "BRINE_COMPUTES",
        ],
    )
    assert facts == {
        "BRINE_NODE": "vc1-fe",
        "BRINE_ROLE": "frontend",
        "BRINE_PRIVATE_IP": "10.1.0.1",
        "BRINE_PRIVATE_PREFIX": "16",
        "BRINE_GATEWAY": "192.0.2.1",
        "BRINE_COMPUTES": "vc1-c0=10.1.0.2 vc1-c1=10.1.0.3",
    }


def test_frontend_env_in_full():
    assert vcluster_config.node_env(CLUSTER, "vc1-fe").splitlines() == [
        "# Brine's virtual cluster facts for this node (sourced by /bin/sh)",
        'BRINE_CLUSTER="vc1"',
        'BRINE_NODE="vc1-fe"',
        'BRINE_ROLE="frontend"',
        'BRINE_FQDN="vc1.example.org"',
        'BRINE_CPUS="2"',
        'BRINE_PRIVATE_IP="10.1.0.1"',
        'BRINE_PRIVATE_PREFIX="16"',
        'BRINE_PRIVATE_NETMASK="255.255.0.0"',
        'BRINE_PRIVATE_SUBNET="10.1.0.0/16"',
        'BRINE_PRIVATE_MAC="52:54:00:00:01:02"',
        'BRINE_GATEWAY="192.0.2.1"',
        'BRINE_FRONTEND="vc1-fe"',
        'BRINE_FRONTEND_IP="10.1.0.1"',
        'BRINE_FRONTEND_FQDN="vc1.example.org"',
        'BRINE_DNS="192.0.2.53 192.0.2.54"',
        'BRINE_SEARCH="example.org lab"',
        'BRINE_DOMAIN="vc1.lab"',
        'BRINE_PUBLIC_IP="192.0.2.10"',
        'BRINE_PUBLIC_PREFIX="24"',
        'BRINE_PUBLIC_NETMASK="255.255.255.0"',
        'BRINE_PUBLIC_MAC="52:54:00:00:01:01"',
        'BRINE_COMPUTES="vc1-c0=10.1.0.2 vc1-c1=10.1.0.3"',
    ]


@pytest.mark.parametrize("shell", SHELLS, ids=lambda s: s[0])
def test_compute_env_has_its_own_facts_and_no_public_ones(shell, tmp_path):
    text = vcluster_config.node_env(CLUSTER, "vc1-c1")
    assert "BRINE_PUBLIC" not in text and "BRINE_COMPUTES" not in text
    facts = source(
        text,
        tmp_path,
        shell,
        [
            "BRINE_NODE",
            "BRINE_ROLE",
            "BRINE_FQDN",
            "BRINE_PRIVATE_IP",
            "BRINE_CPUS",
            "BRINE_GATEWAY",
            "BRINE_FRONTEND_IP",
        ],
    )
    assert facts == {
        "BRINE_NODE": "vc1-c1",
        "BRINE_ROLE": "compute",
        "BRINE_FQDN": "vc1-c1.vc1.lab",
        "BRINE_PRIVATE_IP": "10.1.0.3",
        "BRINE_CPUS": "4",
        "BRINE_GATEWAY": "10.1.0.1",
        "BRINE_FRONTEND_IP": "10.1.0.1",
    }


def test_env_never_holds_the_ssh_key():
    for node in ("vc1-fe", "vc1-c0"):
        text = vcluster_config.node_env(CLUSTER, node)
        assert "ssh-" not in text and KEY_BODY.split()[1] not in text


def test_env_refuses_an_unknown_node():
    with pytest.raises(Invalid, match="'vc1-c9' is not a compute node of vc1"):
        vcluster_config.node_env(CLUSTER, "vc1-c9")


@pytest.mark.parametrize(
    "value", ['a"b', "a$b", "a`id`", "a\\b", "a\nB=1", "a;b", "a'b", "a+b", "a*b", "x" * 32769]
)
def test_env_line_refuses_what_sh_would_expand_or_split(value):
    with pytest.raises(Invalid, match="BRINE_X holds characters"):
        vcluster_config.env_line("BRINE_X", value)


@pytest.mark.parametrize("key", ["PATH", "BRINE_x", "BRINE_A;B", "BRINE_", "BRINE_A B"])
def test_env_line_refuses_keys_other_than_brine_capitals(key):
    with pytest.raises(Invalid, match="is not BRINE_ and capitals"):
        vcluster_config.env_line(key, "1")


def test_env_line_takes_every_safe_character():
    assert vcluster_config.env_line("BRINE_X", "aZ09._:/ =-") == 'BRINE_X="aZ09._:/ =-"\n'


# ---- The config disk

needs_mtools = pytest.mark.skipif(
    not (shutil.which("mkfs.fat", path=vcluster_config.TOOL_PATH) and shutil.which("mdir")),
    reason="dosfstools and mtools are not installed (setup.sh installs them)",
)


def mtools(*argv):
    return subprocess.run(list(argv), capture_output=True, check=True, env={"PATH": "/usr/bin:/bin"}).stdout


@needs_mtools
def test_config_disk_holds_the_files_and_is_private(tmp_path):
    xml = vcluster_config.vc_out_frontend(CLUSTER).encode()
    env = vcluster_config.node_env(CLUSTER, "vc1-fe").encode()
    path = str(tmp_path / "vc1-fe-config.img")
    assert vcluster_config.config_disk(path, {"vc-out.xml": xml, "node.env": env, "empty": b""}) == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.path.getsize(path) == 1440 * 1024
    assert sorted(mtools("mdir", "-i", path, "-b", "::/").decode().split()) == [
        "::/empty",
        "::/node.env",
        "::/vc-out.xml",
    ]
    assert mtools("mtype", "-i", path, "::/vc-out.xml") == xml
    assert mtools("mtype", "-i", path, "::/node.env") == env
    assert b"BRINECFG" in mtools("mdir", "-i", path, "::/")
    assert os.listdir(tmp_path) == ["vc1-fe-config.img"]  # the private folder went away


@needs_mtools
def test_config_disk_keeps_binary_content_and_takes_a_label_and_size(tmp_path):
    blob = bytes(range(256)) * 4 + b"\r\n\x00"
    path = str(tmp_path / "c.img")
    vcluster_config.config_disk(path, {"blob.bin": blob}, label="VC1_C0", size_kib=64)
    assert os.path.getsize(path) == 64 * 1024
    assert mtools("mtype", "-i", path, "::/blob.bin") == blob
    assert b"VC1_C0" in mtools("mdir", "-i", path, "::/")


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "/etc",
        "a/b",
        "-n",
        ".hidden",
        "x.",
        "Vc-out.xml",
        "a b",
        "a" * 32,
        "",
        "con",
        "nul.env",
        "com1",
        "lpt9.txt",
        "x;y",
        "é",
        5,
    ],
)
def test_config_disk_refuses_bad_file_names(name, tmp_path):
    path = tmp_path / "c.img"
    with pytest.raises(Invalid, match="is not 1 to 31 of a-z 0-9"):
        vcluster_config.config_disk(str(path), {name: b"x"}, run=pytest.fail)
    assert not path.exists()


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"files": {}}, "1 to 16 file names"),
        ({"files": {f"f{i}": b"" for i in range(17)}}, "1 to 16 file names"),
        ({"files": ["vc-out.xml"]}, "1 to 16 file names"),
        ({"files": {"a": "text"}}, "files a must be bytes"),
        ({"files": {"a": b"x" * (1024 * 1024 + 1)}, "size_kib": 4096}, "at most 1048576 fit"),
        ({"files": {"a": b"x" * (16 * 1024 + 1)}, "size_kib": 64}, "at most 16384 fit a 64 KiB disk"),
        ({"label": "brinecfg"}, "label must be 1 to 11"),
        ({"label": "BRINECONFIG1"}, "label must be 1 to 11"),
        ({"label": "NO NAME"}, "label must be 1 to 11"),
        ({"label": "-C"}, "label must be 1 to 11"),
        ({"size_kib": 63}, "size_kib must be a whole number from 64 to 65536"),
        ({"size_kib": 65537}, "size_kib must be a whole number from 64 to 65536"),
        ({"size_kib": True}, "size_kib must be"),
        ({"size_kib": "1440"}, "size_kib must be"),
    ],
)
def test_config_disk_refuses_bad_arguments(kwargs, words, tmp_path):
    path = tmp_path / "c.img"
    arguments = {"files": {"a": b"x"}, **kwargs}
    with pytest.raises(Invalid, match=words):
        vcluster_config.config_disk(str(path), run=pytest.fail, **arguments)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "path", ["relative.img", "/tmp/../etc/x.img", "//x.img", "/tmp/a\nb.img", "/no/such/dir/x.img", 7]
)
def test_config_disk_refuses_bad_paths(path):
    with pytest.raises(Invalid, match="path"):
        vcluster_config.config_disk(path, {"a": b"x"}, run=pytest.fail)


def test_config_disk_never_overwrites(tmp_path):
    path = tmp_path / "c.img"
    path.write_bytes(b"precious")
    with pytest.raises(Invalid, match="already exists"):
        vcluster_config.config_disk(str(path), {"a": b"x"}, run=pytest.fail)
    assert path.read_bytes() == b"precious"


@needs_mtools
def test_config_disk_failure_leaves_nothing_behind(tmp_path):
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        if "mcopy" in argv[0] and argv[-1] == "::/second":
            return subprocess.CompletedProcess(argv, 1, "", "Disk full\n")
        return subprocess.run(argv, **kwargs)  # noqa: PLW1510 (check is in kwargs)

    path = tmp_path / "c.img"
    with pytest.raises(Refused, match=r"\[internal\] mcopy of second failed: Disk full"):
        vcluster_config.config_disk(str(path), {"first": b"1", "second": b"2"}, run=run)
    assert [os.path.basename(argv[0]) for argv in calls] == ["mkfs.fat", "mcopy", "mcopy"]
    assert os.listdir(tmp_path) == []


@needs_mtools
def test_config_disk_runs_argument_lists_of_its_own_paths(tmp_path):
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs))
        return subprocess.run(argv, **kwargs)  # noqa: PLW1510 (check is in kwargs)

    path = str(tmp_path / "c.img")
    vcluster_config.config_disk(path, {"vc-out.xml": b"<vc/>"}, run=run)
    (mkfs, mkfs_kwargs), (mcopy, _) = calls
    assert mkfs[1:] == ["-C", "-n", "BRINECFG", mkfs[4], "1440"]
    assert os.path.dirname(os.path.dirname(mkfs[4])) == str(tmp_path)
    assert mcopy[1:] == ["-i", mkfs[4], mcopy[3], "::/vc-out.xml"]
    assert os.path.isabs(mkfs[0]) and os.path.isabs(mcopy[0])
    assert "shell" not in mkfs_kwargs and mkfs_kwargs["stdin"] == subprocess.DEVNULL
    assert mkfs_kwargs["timeout"] == vcluster_config.TOOL_TIMEOUT
    assert "HOME" not in mkfs_kwargs["env"]  # no user's ~/.mtoolsrc decides what mcopy does


@needs_mtools
def test_config_disk_never_replaces_a_file_that_appeared_meanwhile(tmp_path):
    path = tmp_path / "c.img"

    def run(argv, **kwargs):
        if "mcopy" in argv[0]:
            path.write_bytes(b"precious")
        return subprocess.run(argv, **kwargs)  # noqa: PLW1510 (check is in kwargs)

    with pytest.raises(Invalid, match="already exists"):
        vcluster_config.config_disk(str(path), {"a": b"x"}, run=run)
    assert path.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["c.img"]


def test_config_disk_says_which_package_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(vcluster_config, "TOOL_PATH", str(tmp_path / "empty"))
    with pytest.raises(
        Refused, match=r"mkfs.fat is not installed on this host \(Debian package dosfstools\)"
    ):
        vcluster_config.config_disk(str(tmp_path / "c.img"), {"a": b"x"}, run=pytest.fail)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("outcome", "words"),
    [
        (subprocess.TimeoutExpired(["mkfs.fat"], 60), "mkfs.fat did not finish within 60 s"),
        (
            FileNotFoundError(2, "No such file or directory"),
            "mkfs.fat could not run: No such file or directory",
        ),
        (
            subprocess.CompletedProcess([], 1, "", "mkfs.fat: bad\x1b[31m thing\n\n"),
            r"mkfs.fat failed: mkfs.fat: bad\s+\[31m thing$",
        ),
        (subprocess.CompletedProcess([], 1, "", ""), "mkfs.fat failed: no message"),
    ],
)
@needs_mtools
def test_config_disk_tool_failures_are_refusals(outcome, words, tmp_path):
    def run(argv, **kwargs):
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    with pytest.raises(Refused, match=words):
        vcluster_config.config_disk(str(tmp_path / "c.img"), {"a": b"x"}, run=run)
    assert os.listdir(tmp_path) == []
