"""
Unit tests of ``brine.vcluster_repo``: a virtual cluster repository's ``vcdb.txt`` and cluster
descriptions (pragma_boot's ``vc-in.xml`` with Brine's ``sha256`` per ``<file>``) read into
Brine's data, and every way they can be bad refused with a sentence that says where.
"""

import xml.etree.ElementTree as ET

import pytest

from brine import errors
from brine import vcluster_repo
from support.paths import REPO

GOOD = (REPO / "tests/unit/files/vcluster/rocks-sge.xml").read_text()
SHA_A = "a" * 64


def refused(words, call, *args):
    """``call(*args)`` raises ``Invalid`` (code invalid_argument) whose sentence holds ``words``."""
    with pytest.raises(errors.Invalid) as caught:
        call(*args)
    assert caught.value.code == "invalid_argument"
    assert words in caught.value.sentence, caught.value.sentence
    return caught.value.sentence


def changed(old, new, text=GOOD):
    assert old in text, old
    return text.replace(old, new)


# vcdb.txt


def test_a_vcdb_lists_each_cluster_with_its_description_path():
    text = "# the site's clusters\n\nrocks-sge,rocks-sge/rocks-sge.xml\n"
    text += "  centos7 , images/centos7/vc-in.xml \r\n"
    assert vcluster_repo.parse_vcdb(text) == [
        {"name": "rocks-sge", "path": "rocks-sge/rocks-sge.xml"},
        {"name": "centos7", "path": "images/centos7/vc-in.xml"},
    ]
    assert vcluster_repo.parse_vcdb("") == []


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("../etc,x.xml", "the cluster name '../etc' is not a valid cluster name"),
        ("a/b,x.xml", "the cluster name 'a/b' is not a valid cluster name"),
        ("-a,x.xml", "is not a valid cluster name"),
        (".hidden,x.xml", "is not a valid cluster name"),
        ("a" * 64 + ",x.xml", "is not a valid cluster name"),
        ("ä,x.xml", "is not a valid cluster name"),
        ("a,../outside/x.xml", "has an empty, '.' or '..' part"),
        ("a,sub/../../x.xml", "has an empty, '.' or '..' part"),
        ("a,/etc/x.xml", "is an absolute path"),
        ("a,sub\\x.xml", "holds a backslash"),
        ("a,sub//x.xml", "has an empty, '.' or '..' part"),
        ("a,./x.xml", "has an empty, '.' or '..' part"),
        ("a,x.txt", "does not end in .xml"),
        ("a,", "the description path is empty"),
        ("a", "is not 'name,path/to/cluster.xml'"),
        ("a,b,c.xml", "is not 'name,path/to/cluster.xml'"),
    ],
)
def test_a_bad_vcdb_line_is_refused_with_its_number(line, words):
    sentence = refused(words, vcluster_repo.parse_vcdb, f"# comment\nok,ok/ok.xml\n\n{line}\n")
    assert sentence.startswith("vcdb.txt line 4: ")


def test_a_name_given_twice_is_refused_naming_both_lines():
    text = "a,a.xml\nb,b.xml\na,other.xml\n"
    refused("vcdb.txt line 3: the cluster a is already named on line 1", vcluster_repo.parse_vcdb, text)


def test_a_vcdb_is_bounded_in_lines_and_bytes():
    assert len(vcluster_repo.parse_vcdb("".join(f"c{i},c{i}.xml\n" for i in range(1000)))) == 1000
    refused("1001 lines: at most 1000", vcluster_repo.parse_vcdb, "# x\n" * 1001)
    refused("larger than 1048576 bytes", vcluster_repo.parse_vcdb, "#" + "é" * 600_000)
    refused("vcdb.txt is not a text", vcluster_repo.parse_vcdb, b"a,a.xml")


def test_the_name_rule_takes_63_characters_starting_with_a_letter_or_digit():
    assert vcluster_repo.cluster_name("0a._-Z" + "x" * 57) == "0a._-Z" + "x" * 57
    refused("name 'a b' is not a valid cluster name", vcluster_repo.cluster_name, "a b")
    refused("names None is not", vcluster_repo.cluster_name, None, "names")


# descriptions


def test_a_pragma_description_is_read_into_what_the_boot_needs():
    found = vcluster_repo.parse_description(GOOD, "rocks-sge")
    frontend, compute = found.pop("frontend"), found.pop("compute")
    assert found == {
        "name": "rocks-sge",
        "arch": "x86_64",
        "network": {
            "private": {"ip": "10.1.1.1", "netmask": "255.255.0.0", "prefix": 16},
            "public_interface": "eth1",
        },
        "files": [
            {
                "filename": "frontend.vda",
                "type": "splited_gzip",
                "parts": ["frontend.vda.gz.a", "frontend.vda.gz.b"],
                "sha256": SHA_A,  # given in upper case: kept in lower case
                "format": "raw",
            },
            {
                "filename": "compute.qcow2",
                "type": "gzip",
                "parts": ["images/compute.qcow2.gz"],
                "sha256": "b" * 64,
                "format": "qcow2",
            },
        ],
    }
    assert {k: v for k, v in frontend.items() if k != "xml"} == {
        "xml_name": "rocks-sge-frontend",
        "memory_kib": 2 * 1024 * 1024,
        "vcpus": 2,
        "disks": ["frontend.vda"],  # an absolute source is matched by its last part; the cdrom is no disk
        "interfaces": 2,
    }
    assert {k: v for k, v in compute.items() if k != "xml"} == {
        "xml_name": "rocks-sge-compute",
        "memory_kib": 1048576,
        "vcpus": 1,
        "disks": ["compute.qcow2"],
        "interfaces": 1,
        "boot_dependency": {"parent": "frontend", "wait": 300},
    }
    domain = ET.fromstring(frontend["xml"])
    assert domain.tag == "domain"
    assert domain.findtext("name") == "rocks-sge-frontend"
    assert ET.fromstring(compute["xml"]).find("devices/disk/source").get("file") == "compute.qcow2"


@pytest.mark.parametrize(
    ("unit", "size", "kib"),
    [("b", "2147483648", 2097152), ("KB", "2048000", 2000000), ("G", "3", 3145728), ("MB", "2", 1954)],
)
def test_memory_is_read_in_libvirts_units_as_kib(unit, size, kib):
    text = changed("<memory unit='MiB'>2048</memory>", f"<memory unit='{unit}'>{size}</memory>")
    assert vcluster_repo.parse_description(text, "c")["frontend"]["memory_kib"] == kib


def test_a_compute_without_a_boot_dependency_waits_for_the_frontend_without_delay():
    text = changed(
        "<boot_dependency parent='frontend'><wait type='clock' value='300'/></boot_dependency>", ""
    )
    assert vcluster_repo.parse_description(text, "c")["compute"]["boot_dependency"] == {
        "parent": "frontend",
        "wait": 0,
    }
    text = changed("<wait type='clock' value='300'/>", "<wait type='clock' value='3600'/>")
    assert vcluster_repo.parse_description(text, "c")["compute"]["boot_dependency"]["wait"] == 3600


def test_a_raw_file_without_parts_is_stored_under_its_own_name_and_public_is_optional():
    text = changed(
        '<file type="gzip" filename="compute.qcow2" format="qcow2"',
        '<file type="raw" filename="compute.qcow2" format="qcow2"',
    )
    text = changed("<part>images/compute.qcow2.gz</part>", "", text)
    text = changed("<frontend><public>eth1</public></frontend>", "", text)
    found = vcluster_repo.parse_description(text, "c")
    assert found["files"][1]["parts"] == ["compute.qcow2"]
    assert found["network"]["public_interface"] is None


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        (
            "arch='x86_64'/>",
            "arch='aarch64'/>",
            "is for the 'aarch64' architecture: Brine's hosts run x86_64",
        ),
        ("arch='x86_64'/>", "/>", "is for the None architecture"),
        ("engine='kvm'", "engine='xen'", "is for the 'xen' engine"),
        ("<virtualization engine='kvm' type='hvm' arch='x86_64'/>", "", "has no <virtualization>"),
        ("<type arch='x86_64'>", "<type arch='i686'>", "the frontend's domain is for 'i686'"),
        ("<vc version='0.1'>", "<vc version='0.1'><junk>", "is not well-formed XML"),
        ("<part>frontend.vda.gz.b</part>", "<part>../frontend.vda.gz.b</part>", "has an empty, '.' or '..'"),
        ("<part>frontend.vda.gz.b</part>", "<part>/etc/shadow</part>", "is an absolute path"),
        ("<part>frontend.vda.gz.b</part>", "<part>a//b</part>", "has an empty, '.' or '..'"),
        ("<part>frontend.vda.gz.b</part>", "<part></part>", "part is empty"),
        ('filename="frontend.vda"', 'filename="../frontend.vda"', "filename '../frontend.vda' has an empty"),
        ('filename="frontend.vda"', 'filename="/var/lib/x.vda"', "is an absolute path"),
        ('filename="frontend.vda"', 'filename="a\\b.vda"', "holds a backslash"),
        ('type="splited_gzip"', 'type="bzip2"', "has type 'bzip2': it must be one of raw, gzip"),
        ('type="splited_gzip"', 'type="gzip"', "of type gzip has 2 parts: it must have one"),
        ('sha256="AAAA', 'nosha="AAAA', "frontend.vda has no sha256 of 64 hexadecimal digits"),
        ('sha256="AAAA', 'sha256="gAAA', "has no sha256 of 64"),
        ('format="qcow2"', 'format="vmdk"', "has format 'vmdk': it must be raw or qcow2"),
        ("<source file='compute.qcow2'/>", "<source file='other.img'/>", "disk source 'other.img' is not"),
        ("<source file='compute.qcow2'/>", "", "the compute has a disk without a source file"),
        (
            "<vcpu>2</vcpu>",
            "<vcpu>0</vcpu>",
            "the frontend's vcpu is '0': it must be a whole number from 1 to 256",
        ),
        ("<vcpu>2</vcpu>", "<vcpu>257</vcpu>", "from 1 to 256"),
        ("<vcpu>2</vcpu>", "", "the frontend's vcpu is ''"),
        (
            "<memory unit='MiB'>2048</memory>",
            "<memory unit='MiB'>-1</memory>",
            "the frontend's memory is '-1'",
        ),
        (
            "<memory unit='MiB'>2048</memory>",
            "<memory unit='MiB'>2000000</memory>",
            "from 1 MiB to 1073741824",
        ),
        ("<memory unit='MiB'>2048</memory>", "<memory unit='PiB'>1</memory>", "memory unit 'PiB' is not"),
        ("<memory unit='MiB'>2048</memory>", "", "the frontend has no <memory>"),
        (
            "value='300'",
            "value='3601'",
            "the compute's wait is '3601': it must be a whole number from 0 to 3600",
        ),
        ("value='300'", "value='-5'", "from 0 to 3600"),
        (
            "parent='frontend'",
            "parent='compute'",
            "boot dependency is 'compute': it can only be the frontend",
        ),
        ("type='clock'", "type='ping'", "wait type 'ping' is not 'clock'"),
        ("<ipaddress>10.1.1.1</ipaddress>", "<ipaddress>10.1.1.300</ipaddress>", "is not an IPv4 address"),
        ("<netmask>255.255.0.0</netmask>", "<netmask>255.0.255.0</netmask>", "is not an IPv4 address and"),
        ("<ipaddress>10.1.1.1</ipaddress>", "<ipaddress>10.1.0.0</ipaddress>", "not a host address"),
        ("<network name='private'>", "<network name='other'>", "has no <network name='private'>"),
        ("<public>eth1</public>", "<public>eth1; reboot</public>", "public interface 'eth1; reboot' is not"),
    ],
)
def test_a_bad_description_is_refused_naming_the_cluster(old, new, words):
    sentence = refused(words, vcluster_repo.parse_description, changed(old, new), "rocks-sge")
    assert sentence.startswith("the description of rocks-sge")


def test_each_domain_needs_its_disks_and_interfaces():
    one = "<interface type='bridge'><source bridge='public'/><mac address='7a:77:6e:40:00:10'/></interface>"
    refused(
        "the frontend has 1 interfaces: it must have from 2 to 8",
        vcluster_repo.parse_description,
        changed(one, ""),
        "c",
    )
    many = "<interface type='bridge'><source bridge='private'/></interface>"
    text = changed(many, many * 9)
    refused(
        "the compute has 9 interfaces: it must have from 1 to 8", vcluster_repo.parse_description, text, "c"
    )
    disk = GOOD[
        GOOD.index("<disk type='file' device='disk'>\n          <driver name='qemu' type='qcow2'/>") :
    ]
    disk = disk[: disk.index("</disk>") + len("</disk>")]
    refused("the compute has 0 disks", vcluster_repo.parse_description, changed(disk, ""), "c")
    refused(
        "the compute has 5 disks: it must have from 1 to 4",
        vcluster_repo.parse_description,
        changed(disk, disk * 5),
        "c",
    )
    refused(
        "the compute has no <domain>",
        vcluster_repo.parse_description,
        changed("<compute>", "<compute><x>").replace("</compute>", "</x></compute>"),
        "c",
    )


def test_files_are_bounded_unique_and_at_most_16_parts_each():
    parts = "".join(f"<part>frontend.vda.gz.{i}</part>" for i in range(17))
    text = changed("<part>frontend.vda.gz.a</part>", parts)
    refused("frontend.vda must have from 1 to 16 parts", vcluster_repo.parse_description, text, "c")
    sixteen = changed("<part>frontend.vda.gz.a</part>", "".join(f"<part>p{i}</part>" for i in range(15)))
    assert len(vcluster_repo.parse_description(sixteen, "c")["files"][0]["parts"]) == 16
    block = GOOD[GOOD.index('<file type="gzip"') : GOOD.index("</files>")]
    refused(
        "the file compute.qcow2 is described twice",
        vcluster_repo.parse_description,
        changed(block, block * 2),
        "c",
    )
    refused(
        "has 0 <file> entries", vcluster_repo.parse_description, GOOD[: GOOD.index("<files>")] + "</vc>", "c"
    )
    more = "".join(block.replace('filename="compute.qcow2"', f'filename="x{i}.img"') for i in range(15))
    refused(
        "has 17 <file> entries: it must have from 1 to 16",
        vcluster_repo.parse_description,
        changed(block, block + more),
        "c",
    )


def test_a_disk_source_that_matches_two_files_is_ambiguous():
    text = changed('filename="compute.qcow2"', 'filename="images/frontend.vda"')
    text = changed("<source file='compute.qcow2'/>", "<source file='images/frontend.vda'/>", text)
    found = vcluster_repo.parse_description(changed("/state/partition1/vm-images/", "", text), "c")
    assert (found["frontend"]["disks"], found["compute"]["disks"]) == (
        ["frontend.vda"],
        ["images/frontend.vda"],
    )
    refused(
        "disk source '/state/partition1/vm-images/frontend.vda' is not exactly one",
        vcluster_repo.parse_description,
        text,
        "c",
    )


@pytest.mark.parametrize(
    "prefix",
    [
        '<!DOCTYPE vc [<!ENTITY x "boom">]>',
        '<!doctype vc SYSTEM "file:///etc/passwd">',
        '<!ENTITY x SYSTEM "http://example.org/">',
    ],
)
def test_doctype_and_entity_declarations_are_refused_before_parsing(prefix):
    text = GOOD.replace("<vc version='0.1'>", prefix + "<vc version='0.1'>")
    refused("declares a DOCTYPE or an ENTITY", vcluster_repo.parse_description, text, "c")


def test_a_description_is_bounded_in_size_and_depth_and_must_be_a_vc():
    refused(
        "is larger than 1048576 bytes",
        vcluster_repo.parse_description,
        GOOD.replace("<driver>", "<!--" + "x" * 1048576 + "--><driver>"),
        "c",
    )
    deep = "<vc>" + "<a>" * 10000 + "</a>" * 10000 + "</vc>"
    refused("nests elements deeper than 32 levels", vcluster_repo.parse_description, deep, "c")
    refused(
        "is not a <vc> description (its root is <domain>)", vcluster_repo.parse_description, "<domain/>", "c"
    )
    refused("is not well-formed XML", vcluster_repo.parse_description, "", "c")
    refused("name '../c' is not a valid cluster name", vcluster_repo.parse_description, GOOD, "../c")
    refused("is not a text", vcluster_repo.parse_description, GOOD.encode(), "c")


def test_node_names_in_the_xml_are_data_only_and_bounded():
    text = changed("<name>rocks-sge-frontend</name>", "<name>../../etc/" + "x" * 400 + "</name>")
    frontend = vcluster_repo.parse_description(text, "c")["frontend"]
    assert frontend["xml_name"] == ("../../etc/" + "x" * 400)[:255]


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("not a dict", "is not a file entry"),
        ({"filename": "a", "type": "raw", "parts": "a", "sha256": SHA_A}, "must have from 1 to 16 parts"),
        ({"filename": "a", "type": "raw", "parts": [], "sha256": SHA_A}, "must have from 1 to 16 parts"),
        ({"filename": "a", "type": "raw", "parts": ["a"], "sha256": None}, "has no sha256"),
        ({"filename": "a", "type": "raw", "parts": [".."], "sha256": SHA_A}, "has an empty, '.' or '..'"),
    ],
)
def test_a_file_entry_given_back_is_checked_again(entry, words):
    refused(words, vcluster_repo.file_entry, entry)
