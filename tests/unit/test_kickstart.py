"""
Kickstarts: the version of each OS variant, the context's rules (user data stays data: template
syntax is printed as it is or refused, nothing can add a kickstart line or option), the sandbox,
the root credentials and what plans and logs see of them.
"""

import base64
import functools
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateNotFound
from jinja2.exceptions import UndefinedError

from brine import credentials
from brine import kickstart
from brine.errors import Invalid
from brine.errors import Refused
from support.kickstarts import ED25519_KEY
from support.kickstarts import PASSWORD
from support.kickstarts import PASSWORD_HASH
from support.kickstarts import PASSWORD_HASH_ROUNDS
from support.kickstarts import context

# ---- Versions and templates


@pytest.mark.parametrize(
    "variant,version",
    [
        ("rhel8.10", "RHEL8"),
        ("rhel9.4", "RHEL9"),
        ("rhel10.0", "RHEL10"),
        ("centos-stream9", "RHEL9"),
        ("centos8", "RHEL8"),
        ("almalinux8", "RHEL8"),
        ("rocky9", "RHEL9"),
        ("ol9.2", "RHEL9"),
        ("fedora40", "F40"),
    ],
)
def test_each_variant_has_its_pykickstart_version(variant, version):
    assert kickstart.version_for(variant) == version


@pytest.mark.parametrize(
    "variant",
    ["debian12", "ubuntu24.04", "rhel7.9", "fedora29", "fedora-rawhide", "rhel99", "", None, "rhel9;x"],
)
def test_other_variants_are_refused(variant):
    with pytest.raises(Invalid, match="os_variant"):
        kickstart.version_for(variant)


def test_the_templates_are_the_ks_j2_files_only():
    assert kickstart.template_names() == ["minimal", "rhel"]


@pytest.mark.parametrize("template", ["common", "../kickstart/rhel", "rhel.ks.j2", "", None, "RHEL"])
def test_render_takes_only_a_shipped_template_name(template):
    with pytest.raises(Invalid, match="not a kickstart template"):
        kickstart.render(template, context())


VERSIONS = [f"rhel{major}" for major in (8, 9, 10)] + [f"fedora{release}" for release in range(30, 47)]


@pytest.mark.parametrize("variant", VERSIONS)
@pytest.mark.parametrize("template", ["minimal", "rhel"])
def test_every_template_renders_for_every_supported_version(template, variant):
    plain = context(os_variant=variant, partitioning="plain", nics=[{"mac": "52:54:00:00:00:01"}])
    locked = context(os_variant=variant, password_hash=None, ssh_key=ED25519_KEY, firewall=False, services=[])
    for each in (plain, locked):
        assert kickstart.render(template, each).endswith("%end\n")


# ---- The context


def test_the_defaults_fill_a_least_context():
    checked = kickstart.check_context(context())
    assert checked["hostname"] == "lab-vm1"
    assert checked["lang"] == "en_US.UTF-8"
    assert checked["keyboard"] == "us"
    assert checked["timezone"] == "UTC"
    assert checked["packages"] == ["@core"]
    assert checked["services"] == ["sshd"]
    assert checked["firewall"] == ["ssh"]
    assert checked["selinux"] == "enforcing"
    assert checked["partitioning"] == "auto"
    assert checked["repositories"] == checked["nics"] == []
    assert checked["ssh_key"] is checked["salt_master"] is checked["minion_id"] is None
    assert checked["version"] == "RHEL9"


def test_none_is_the_default_and_a_checked_context_checks_to_itself():
    checked = kickstart.check_context(context(lang=None, packages=None, firewall=None))
    assert checked == kickstart.check_context(context())
    assert kickstart.check_context(checked) == checked
    assert kickstart.render("rhel", checked) == kickstart.render("rhel", context())


def test_the_host_name_and_the_minion_id_come_from_the_vm_name():
    checked = kickstart.check_context(context(name="db_1+a", salt_master="fe80::1"))
    assert checked["hostname"] == "db-1-a"
    assert checked["minion_id"] == "db-1-a"
    assert checked["salt_master"] == "fe80::1"
    with pytest.raises(Invalid, match="give hostname"):
        kickstart.check_context(context(name="a..b"))


def test_nics_default_to_their_mac_as_the_device_and_dhcp():
    nics = [
        {"mac": "52:54:00:AB:CD:EF", "network": "default"},
        {"mac": "52:54:00:00:00:02", "device": "eth1"},
    ]
    assert kickstart.check_context(context(nics=nics))["nics"] == [
        {"device": "52:54:00:ab:cd:ef", "mac": "52:54:00:ab:cd:ef", "bootproto": "dhcp"},
        {"device": "eth1", "mac": "52:54:00:00:00:02", "bootproto": "dhcp"},
    ]


def test_the_firewall_is_a_list_of_services_true_or_false():
    assert kickstart.check_context(context(firewall=True))["firewall"] == ["ssh"]
    assert kickstart.check_context(context(firewall=False))["firewall"] is False
    assert kickstart.check_context(kickstart.check_context(context(firewall=False)))["firewall"] is False
    assert kickstart.check_context(context(firewall=["http"]))["firewall"] == ["http"]
    assert "firewall --disabled\n" in kickstart.render("rhel", context(firewall=False))
    assert "firewall --enabled\n" in kickstart.render("rhel", context(firewall=[]))


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"colour": "blue"}, "colour"),
        ({"name": None}, "VM name"),
        ({"password_hash": None}, "password_hash or ssh_key"),
        ({"password_hash": ""}, "password_hash or ssh_key"),
        ({"url": "ftp://mirror/os/"}, "url"),
        ({"url": "http://user:pw@mirror/os/"}, "url"),
        ({"url": "http://mirror:99999/os/"}, "url"),
        ({"url": "http:///os/"}, "url"),
        ({"repositories": [{"name": "a", "url": "http://m/a"}, {"name": "a", "url": "http://m/b"}]}, "twice"),
        ({"repositories": [{"name": "a+b", "url": "http://m/a"}]}, "repositories[0].name"),
        ({"repositories": [{"name": "a"}]}, "repositories[0]"),
        ({"repositories": "http://m/a"}, "repositories"),
        ({"nics": [{"mac": "52:54:00:00:00:01", "bootproto": "static"}]}, "nics[0].bootproto"),
        ({"nics": [{"mac": "52:54:00:00:00:01", "ip": "10.0.0.9"}]}, "nics[0]"),
        ({"nics": [{"mac": "52:54:00:00:00:01"}] * 2}, "twice"),
        ({"nics": [{"mac": "52:54:00:00:00"}]}, "nics[0].mac"),
        ({"packages": ["@core"] * 513}, "packages"),
        ({"packages": ["vim minimal"]}, "packages[0]"),
        ({"services": ["sshd,evil"]}, "services[0]"),
        ({"firewall": "ssh"}, "firewall"),
        ({"selinux": "off"}, "selinux"),
        ({"partitioning": "lvm"}, "partitioning"),
        ({"timezone": "../../etc/shadow"}, "timezone"),
        ({"disk": 0}, "disk"),
        ({"minion_id": "vm1"}, "minion_id needs salt_master"),
        ({"salt_master": "salt master"}, "salt_master"),
        ({"hostname": "-web"}, "hostname"),
    ],
)
def test_a_bad_field_is_refused_by_name(changes, field):
    with pytest.raises(Invalid) as caught:
        kickstart.render("rhel", context(**changes))
    assert field in caught.value.sentence


def test_a_context_that_is_not_a_mapping_or_lacks_a_required_field_is_refused():
    with pytest.raises(Invalid, match="mapping"):
        kickstart.check_context([("name", "vm")])
    with pytest.raises(Invalid, match="needs url"):
        kickstart.check_context({"name": "vm", "os_variant": "rhel9", "password_hash": PASSWORD_HASH})


# ---- User data is data

# Where each string of the context goes: a function from a value to the context holding it.
KEY_BODY = ED25519_KEY.rsplit(" ", 1)[0]
PLACES = {
    "name": lambda v: context(name=v),
    "hostname": lambda v: context(hostname=v),
    "os_variant": lambda v: context(os_variant=v),
    "url": lambda v: context(url=v),
    "lang": lambda v: context(lang=v),
    "keyboard": lambda v: context(keyboard=v),
    "timezone": lambda v: context(timezone=v),
    "selinux": lambda v: context(selinux=v),
    "partitioning": lambda v: context(partitioning=v),
    "password_hash": lambda v: context(password_hash=v),
    "ssh_key": lambda v: context(ssh_key=v),
    "ssh_key's comment": lambda v: context(ssh_key=f"{KEY_BODY} {v}"),
    "salt_master": lambda v: context(salt_master=v),
    "minion_id": lambda v: context(salt_master="10.0.0.1", minion_id=v),
    "repositories[0].name": lambda v: context(repositories=[{"name": v, "url": "http://m/r/"}]),
    "repositories[0].url": lambda v: context(repositories=[{"name": "r", "url": v}]),
    "nics[0].mac": lambda v: context(nics=[{"mac": v}]),
    "nics[0].device": lambda v: context(nics=[{"mac": "52:54:00:00:00:01", "device": v}]),
    "nics[0].bootproto": lambda v: context(nics=[{"mac": "52:54:00:00:00:01", "bootproto": v}]),
    "packages[0]": lambda v: context(packages=[v]),
    "services[0]": lambda v: context(services=[v]),
    "firewall[0]": lambda v: context(firewall=[v]),
}
VALID = {
    "os_variant": "rhel9.4",
    "lang": "en_US.UTF-8",
    "keyboard": "us",
    "timezone": "UTC",
    "url": "http://m/os/",
    "repositories[0].url": "http://m/r/",
    "ssh_key": ED25519_KEY,
    "password_hash": PASSWORD_HASH,
    "nics[0].mac": "52:54:00:00:00:01",
    "selinux": "enforcing",
    "partitioning": "auto",
    "nics[0].bootproto": "dhcp",
    "salt_master": "salt",
}
QUOTED = ("url", "repositories[0].url", "ssh_key", "ssh_key's comment")
TEMPLATE_SYNTAX = ["{{7*7}}", "{% raw %}", "{#", "{%", "{{ self }}", "${{7*7}}"]
INJECTIONS = [
    "x\n%end\n%post\nrm -rf /\n%end",
    "x\nrootpw evil",
    "x\r",
    'x" --hostname=evil "',
    "x' y",
    "x\\",
    "x --bootproto=static",
    "x #comment",
    "x`id`",
    "x$(id)",
    "x;id",
    "x\x00",
    "\u202ex",
]


@functools.cache
def _baseline(place):
    return kickstart.render("rhel", PLACES[place](VALID.get(place, "vm1")))


def _outcome(place, value):
    """The rendered text when the value is taken, else None (refused with the field named)."""
    try:
        return kickstart.render("rhel", PLACES[place](value))
    except Invalid as err:
        assert place.split("'")[0].split("[")[0] in err.sentence or place == "name"
        return None


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("syntax", TEMPLATE_SYNTAX)
def test_template_syntax_in_any_field_stays_literal_or_is_refused(place, syntax):
    for value in (syntax, VALID.get(place, "vm1") + syntax):
        text = _outcome(place, value)
        assert text is None or value in text
        assert text is None or "49" not in text.replace(PASSWORD_HASH, "")


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("injection", INJECTIONS)
def test_nothing_in_a_field_adds_a_kickstart_line_option_or_shell_word(place, injection):
    baseline = _baseline(place)
    text = _outcome(place, VALID.get(place, "vm1") + injection)
    if text is None:
        return
    # Only URLs (their own characters: '$', ';', '(') and a key's comment take any of these, and
    # only inside a quoted option (a key loses the whitespace around it); the lines stay the same.
    assert place in QUOTED
    value = VALID.get(place, "vm1") + injection
    value = f"{KEY_BODY} {value}" if place == "ssh_key's comment" else value
    assert f'"{value.strip()}"\n' in text
    assert text.count("\n") == baseline.count("\n")


# ---- The sandbox


def _throwaway(tmp_path, source):
    (tmp_path / "t.ks.j2").write_text(source)
    return kickstart._environment(tmp_path)


@pytest.mark.parametrize(
    "source,cause",
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", SecurityError),
        ("{{ lipsum.__globals__ }}", SecurityError),
        ("{{ items.append(1) }}", SecurityError),
        ("{% include '../outside.j2' %}", TemplateNotFound),
        ("{{ missing }}", UndefinedError),
        ("{{ nothing }}", UndefinedError),
    ],
)
def test_a_template_runs_sandboxed_and_its_errors_are_brines(tmp_path, source, cause):
    (tmp_path.parent / "outside.j2").write_text("outside")
    environment = _throwaway(tmp_path, source)
    with pytest.raises(Refused) as caught:
        kickstart._render_text(environment, "t", {"items": [], "nothing": None})
    assert caught.value.code == "internal"
    assert isinstance(caught.value.__cause__, cause)


def test_a_kickstart_pykickstart_refuses_is_brines_bug_and_its_secrets_stay_hidden():
    with pytest.raises(Refused) as caught:
        kickstart.check_kickstart(f"rootpw --iscrypted {PASSWORD_HASH} extra\n", "RHEL9")
    assert caught.value.code == "internal"
    assert PASSWORD_HASH not in str(caught.value)
    assert "\n" not in caught.value.sentence
    with pytest.raises(Refused, match="deprecated"):
        kickstart.check_kickstart("timezone UTC --isUtc\n", "F40")
    with pytest.raises(Refused, match="removed"):
        kickstart.check_kickstart("install\n", "RHEL9")


def test_without_pykickstart_brine_says_so(monkeypatch):
    monkeypatch.setattr(kickstart, "HAS_PYKICKSTART", False)
    with pytest.raises(Refused, match="pykickstart is not installed"):
        kickstart.version_for("rhel9")


# ---- Credentials


@pytest.mark.parametrize("value", [PASSWORD_HASH, PASSWORD_HASH_ROUNDS])
def test_sha512_crypt_hashes_are_taken(value):
    assert kickstart.check_password_hash(value) == value


@pytest.mark.parametrize(
    "value,sentence",
    [
        (PASSWORD, "never takes a plaintext password"),
        ("$5$abcdefgh$" + "a" * 43, "SHA-256"),
        ("$1$abcdefgh$" + "a" * 22, "MD5"),
        ("$y$j9T$abc$" + "a" * 43, "yescrypt"),
        ("$2b$12$" + "a" * 53, "bcrypt"),
        (PASSWORD_HASH[:-1], "not a well-formed"),
        (PASSWORD_HASH + "\n", "not a well-formed"),
        (PASSWORD_HASH.replace("$6$", "$6$rounds=999$"), "rounds below"),
        (None, "as text"),
        (123456, "as text"),
    ],
)
def test_anything_else_is_refused_without_repeating_it(value, sentence):
    with pytest.raises(Invalid, match=sentence) as caught:
        kickstart.check_password_hash(value)
    assert str(value) not in caught.value.sentence


def _openssh(key):
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _blob_key(key_type, *fields):
    blob = b"".join(struct.pack(">I", len(part)) + part for part in (key_type.encode(), *fields))
    return f"{key_type} {base64.b64encode(blob).decode()}"


@pytest.mark.parametrize(
    "value",
    [
        ED25519_KEY,
        ED25519_KEY + "\n",
        _openssh(rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()),
        _blob_key("sk-ssh-ed25519@openssh.com", b"k" * 32, b"ssh:") + " yubikey {{7*7}}",
    ],
)
def test_openssh_public_keys_are_taken_as_one_line(value):
    assert kickstart.check_ssh_key(value) == value.strip()


@pytest.mark.parametrize(
    "value,sentence",
    [
        ('command="id" ' + ED25519_KEY, "starting with its type"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "starting with its type"),
        (_blob_key("ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xff" * 32), "fewer than 2048 bits"),
        ("ssh-rsa " + ED25519_KEY.split()[1], "another type"),
        ("ssh-ed25519 AAAA!!!!", "not base64"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE", "does not decode"),
        (ED25519_KEY + "\n" + ED25519_KEY, "not several lines"),
        (ED25519_KEY + ' "quoted"', "comment"),
        (ED25519_KEY + " " + "x" * 9000, "longer than"),
        (ED25519_KEY.split()[0], "starting with its type"),
        (None, "as text"),
    ],
)
def test_anything_but_one_public_key_is_refused(value, sentence):
    with pytest.raises(Invalid, match=sentence):
        kickstart.check_ssh_key(value)


# ---- What plans and logs see


def test_redaction_hides_the_hash_and_keeps_the_rest():
    text = kickstart.render("rhel", context(ssh_key=ED25519_KEY))
    shown = kickstart.redacted(text)
    assert PASSWORD_HASH not in shown
    assert "rootpw --iscrypted <hidden>\n" in shown
    assert f'sshkey --username=root "{ED25519_KEY}"\n' in shown
    assert shown.replace("<hidden>", PASSWORD_HASH) == text


@pytest.mark.parametrize(
    "line,shown",
    [
        ("rootpw --plaintext hunter2", "rootpw --plaintext <hidden>"),
        ("rootpw hunter2", "rootpw <hidden>"),
        ("rootpw --lock", "rootpw --lock"),
        ("user --name=ops --password=hunter2 --plaintext", "user --name=ops --password=<hidden> --plaintext"),
        ('bootloader --password="two words" --iscrypted', "bootloader --password=<hidden> --iscrypted"),
        ("autopart --encrypted --passphrase hunter2", "autopart --encrypted --passphrase <hidden>"),
        ("sshpw --username=root hunter2 --plaintext", "sshpw --username=root <hidden> --plaintext"),
        (f"echo 'root:{PASSWORD_HASH_ROUNDS}' | chpasswd -e", "echo 'root:<hidden>' | chpasswd -e"),
    ],
)
def test_redaction_hides_every_kind_of_kickstart_secret(line, shown):
    assert credentials.redacted(line + "\n") == shown + "\n"
