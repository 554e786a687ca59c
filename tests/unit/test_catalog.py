"""
The provisioning catalog's rules (docs/provisioning.md, The catalog; issue 10, item 1): names,
sizes, URLs, OS variants, kickstarts, placements, references, who uses what, the repositories a
key gives, and the parts a create resolves to.
"""

import pytest

from brine import catalog
from brine import errors
from brine import osinfo
from brine import validate
from support.catalogs import sample
from support.catalogs import use_templates

VALID = {
    "profiles": {"memory": 512, "vcpus": 1, "disk": 10},
    "os_trees": {"url": "http://mirror.example.com/tree/", "os_variant": "rhel9.0", "kickstart": "rhel"},
    "products": {"url": "http://mirror.example.com/repo/"},
    "views": {"products": ["baseos"]},
    "activation_keys": {"views": ["base"]},
    "host_groups": {
        "profile": "small",
        "os_tree": "rhel9",
        "activation_key": "web",
        "network": "default",
        "pool": "default",
        "placement": {"kind": "any"},
    },
}
BAD_NAMES = [
    "x;rm -rf /",
    "a b",
    "a&&b",
    "$(id)",
    "`id`",
    "a|b",
    "a>b",
    "../etc",
    "..",
    "a/b",
    "/etc/passwd",
    "{{7*7}}",
    "{%print 1%}",
    "",
    ".hidden",
    "-rf",
    "x" * 65,
    "a\nb",
    None,
    True,
    ["a"],
]


@pytest.fixture(autouse=True)
def templates(monkeypatch):
    use_templates(monkeypatch)


@pytest.fixture
def content():
    return sample()


def refused(call, code="invalid_argument"):
    with pytest.raises(errors.Invalid) as caught:
        call()
    assert caught.value.code == code, caught.value
    return caught.value.sentence


def entry(kind, **changes):
    fields = dict(VALID[kind])
    fields.update(changes)
    return fields


# ---- names


@pytest.mark.parametrize("kind", catalog.KINDS)
@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_entry_names_follow_the_vm_name_rule(content, kind, name):
    sentence = refused(lambda: catalog.validate_entry(kind, name, entry(kind), content))
    assert f"the {catalog.SINGULAR[kind]} name" in sentence and "not a valid name" in sentence


@pytest.mark.parametrize("name", ["web-1", "rhel9.0", "a+b", "A_b"])
def test_good_names_are_taken(content, name):
    assert catalog.validate_entry("profiles", name, entry("profiles"), content)["memory"] == 512
    assert catalog.entry_name(name) == name


def test_a_number_is_a_name_by_its_digits():
    assert catalog.entry_name(7) == "7"


@pytest.mark.parametrize("kind", [None, "profile", "../profiles", "{{7*7}}"])
def test_an_unknown_kind_is_refused(content, kind):
    assert "kind must be one of profiles, os_trees" in refused(
        lambda: catalog.validate_entry(kind, "x", {}, content)
    )


# ---- fields present, missing, unknown


@pytest.mark.parametrize("kind", catalog.KINDS)
def test_a_valid_entry_of_every_kind_is_taken(content, kind):
    stored = catalog.validate_entry(kind, "new", entry(kind), content)
    assert list(stored) == list(catalog.FIELDS[kind])


@pytest.mark.parametrize("kind", catalog.KINDS)
def test_unknown_fields_are_refused_by_name(content, kind):
    sentence = refused(lambda: catalog.validate_entry(kind, "x", entry(kind, colour="red"), content))
    assert "colour is not one of them" in sentence


@pytest.mark.parametrize("kind", catalog.KINDS)
def test_missing_fields_are_named(content, kind):
    fields = entry(kind)
    dropped = catalog.FIELDS[kind][0]
    del fields[dropped]
    assert f"missing {dropped}" in refused(lambda: catalog.validate_entry(kind, "x", fields, content))


def test_every_missing_field_is_named_at_once(content):
    sentence = refused(lambda: catalog.validate_entry("host_groups", "g", {"profile": "small"}, content))
    assert "missing os_tree, network, pool, placement" in sentence


@pytest.mark.parametrize("fields", [["memory", 1], "memory=512", 5])
def test_fields_must_be_a_mapping(content, fields):
    assert "must be a mapping" in refused(lambda: catalog.validate_entry("profiles", "p", fields, content))


# ---- sizes


@pytest.mark.parametrize("field", catalog.SIZES)
@pytest.mark.parametrize("value", [0, -1, 10**9, "1000000000", "abc", 1.5, "2.0", True, "", None, "9" * 5000])
def test_sizes_out_of_bounds_or_not_whole_are_refused(content, field, value):
    sentence = refused(
        lambda: catalog.validate_entry("profiles", "p", entry("profiles", **{field: value}), content)
    )
    assert field in sentence


@pytest.mark.parametrize("field", catalog.SIZES)
def test_sizes_take_their_bounds_and_refuse_one_beyond(content, field):
    low, high = catalog.MINIMUMS[field], validate.LIMITS[field]
    for value in (low, high, str(high)):
        assert catalog.validate_entry("profiles", "p", entry("profiles", **{field: value}), content)[
            field
        ] == int(value)
    for value in (low - 1, high + 1):
        refused(
            lambda value=value: catalog.validate_entry(
                "profiles", "p", entry("profiles", **{field: value}), content
            )
        )


def test_memory_below_64_mib_is_refused(content):
    sentence = refused(lambda: catalog.validate_entry("profiles", "p", entry("profiles", memory=63), content))
    assert sentence == "memory must be at least 64 MiB, not 63"


def test_sizes_given_as_strings_are_stored_as_ints(content):
    stored = catalog.validate_entry("profiles", "p", {"memory": "512", "vcpus": " 2", "disk": "10"}, content)
    assert stored == {"memory": 512, "vcpus": 2, "disk": 10}


# ---- URLs

BAD_URLS = [
    "ftp://mirror.example.com/tree/",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:text/plain,x",
    "gopher://h/",
    "mirror.example.com/tree",
    "//mirror.example.com/tree",
    "http://",
    "http:///tree",
    "http://mirror.example.com/a b",
    "http://mirror.example.com/a\tb",
    "http://mirror.example.com/a\nb",
    'http://mirror.example.com/"x',
    "http://mirror.example.com/'x",
    "http://mirror.example.com/{{7*7}}",
    "http://mirror.example.com/tree#frag",
    "http://mirror.example.com/%zz",
    "http://mirror.example.com:99999/",
    "http://mirror.example.com:0/",
    "http://mirror.example.com:port/",
    "http://[::1/",
    "http://[not-ipv6]/",
    "http://-bad-.example.com/",
    "http://bad_host/",
    "http://mirror.example.com/" + "x" * 2048,
    "http://mirror.example.com/é",
    "",
    None,
    5,
]


@pytest.mark.parametrize("kind", ["os_trees", "products"])
@pytest.mark.parametrize("value", BAD_URLS, ids=lambda v: repr(v)[:40])
def test_urls_must_be_well_formed_http_or_https(content, kind, value):
    sentence = refused(lambda: catalog.validate_entry(kind, "x", entry(kind, url=value), content))
    assert sentence.startswith("url ") or sentence.endswith("missing url")


@pytest.mark.parametrize(
    "value",
    [
        "http://mirror.example.com/rhel/$releasever/os/$basearch/",
        "https://10.0.0.1:8080/tree",
        "http://[fd00::1]/tree/",
        "HTTPS://Mirror.Example.com/tree",
        "http://mirror/tree?arch=x86_64&a=%20b",
        "http://mirror.example.com./",
    ],
)
def test_good_urls_are_taken_as_given(content, value):
    assert catalog.validate_entry("products", "p", {"url": value}, content) == {"url": value}


@pytest.mark.parametrize(
    "value",
    ["http://admin:s3cret@mirror.example.com/", "http://s3cret@mirror.example.com/", "http:s3cret@h/"],
)
def test_urls_with_credentials_are_refused_without_repeating_them(content, value):
    sentence = refused(lambda: catalog.validate_entry("products", "p", {"url": value}, content))
    assert "s3cret" not in sentence


def test_a_refused_url_with_credentials_and_a_space_hides_the_password(content):
    sentence = refused(
        lambda: catalog.validate_entry("products", "p", {"url": "http://u:s3cret x@h/"}, content)
    )
    assert "s3cret" not in sentence and "<hidden>" in sentence


def test_a_long_bad_value_is_not_repeated_whole(content):
    sentence = refused(
        lambda: catalog.validate_entry("products", "p", {"url": "ftp://" + "a" * 5000}, content)
    )
    assert len(sentence) < 300


# ---- OS variants and kickstarts


@pytest.mark.parametrize("value", ["rhel9.0", "centos-stream9", "fedora37", "almalinux9", "rocky9"])
def test_os_variants_osinfo_knows_with_a_kickstart_version_are_taken(content, value):
    assert (
        catalog.validate_entry("os_trees", "t", entry("os_trees", os_variant=value), content)["os_variant"]
        == value
    )


@pytest.mark.parametrize(
    "value", ["rhel99", "fedora9999", "madeupos1", "rhel9.0;id", "{{7*7}}", "RHEL9.0", "", 9]
)
def test_os_variants_osinfo_does_not_know_are_refused(content, value):
    sentence = refused(
        lambda: catalog.validate_entry("os_trees", "t", entry("os_trees", os_variant=value), content)
    )
    assert "os_variant" in sentence


@pytest.mark.parametrize("value", ["debian11", "win10", "ubuntu22.04"])
def test_os_variants_without_a_kickstart_version_are_refused(content, value):
    assert osinfo.is_known(value)
    sentence = refused(
        lambda: catalog.validate_entry("os_trees", "t", entry("os_trees", os_variant=value), content)
    )
    assert "no kickstart version" in sentence


@pytest.mark.parametrize("value", ["debian", "../rhel", "rhel.ks.j2", "{{7*7}}", "", None])
def test_kickstarts_must_be_a_shipped_template(content, value):
    sentence = refused(
        lambda: catalog.validate_entry("os_trees", "t", entry("os_trees", kickstart=value), content)
    )
    assert (
        "kickstart must be one of the kickstart templates (fedora, rhel)" in sentence
        or "missing kickstart" in sentence
    )


def test_no_kickstart_is_taken_before_templates_exist(content, monkeypatch):
    use_templates(monkeypatch, ())
    sentence = refused(lambda: catalog.validate_entry("os_trees", "t", entry("os_trees"), content))
    assert "(none yet)" in sentence


def test_osinfo_reads_short_ids_from_the_folders_it_is_given(tmp_path):
    vendor = tmp_path / "os" / "example.org"
    vendor.mkdir(parents=True)
    (vendor / "a.xml").write_text(
        "<libosinfo><os id='http://example.org/a/1'><short-id>exa1</short-id>"
        "<short-id>exa1.0</short-id><upgrades id='x'/></os></libosinfo>"
    )
    (vendor / "broken.xml").write_text("<libosinfo><os><short-id>nope")
    assert osinfo.short_ids((str(tmp_path),)) == {"exa1", "exa1.0"}
    assert osinfo.is_known("exa1.0", dirs=[str(tmp_path)])
    assert not osinfo.is_known("rhel9.0", dirs=[str(tmp_path)])
    assert not osinfo.is_known(None)


def test_osinfo_knows_the_installed_database():
    assert {"rhel9.0", "fedora37", "debian11"} <= osinfo.short_ids()
    assert not osinfo.is_known("rhel99")


# ---- references


@pytest.mark.parametrize(
    "kind,field,value",
    [
        ("views", "products", ["baseos", "nope"]),
        ("activation_keys", "views", ["nope"]),
        ("host_groups", "profile", "nope"),
        ("host_groups", "os_tree", "nope"),
        ("host_groups", "activation_key", "nope"),
    ],
)
def test_references_to_missing_entries_are_no_entry(content, kind, field, value):
    sentence = refused(
        lambda: catalog.validate_entry(kind, "x", entry(kind, **{field: value}), content), "no_entry"
    )
    assert sentence.startswith(f"{field} names ") and "'nope', which is not in the catalog" in sentence


@pytest.mark.parametrize(
    "kind,field,value",
    [
        ("views", "products", ["baseos", "{{7*7}}"]),
        ("activation_keys", "views", ["../base"]),
        ("host_groups", "profile", "small;reboot"),
        ("host_groups", "os_tree", "{{7*7}}"),
        ("host_groups", "activation_key", "$(id)"),
    ],
)
def test_references_with_bad_names_are_refused_as_invalid(content, kind, field, value):
    assert field in refused(lambda: catalog.validate_entry(kind, "x", entry(kind, **{field: value}), content))


@pytest.mark.parametrize("value", [None, ""])
def test_the_activation_key_is_optional(content, value):
    stored = catalog.validate_entry("host_groups", "g", entry("host_groups", activation_key=value), content)
    assert stored["activation_key"] is None
    fields = entry("host_groups")
    del fields["activation_key"]
    assert catalog.validate_entry("host_groups", "g", fields, content)["activation_key"] is None


def test_lists_are_deduplicated_in_order(content):
    stored = catalog.validate_entry(
        "views", "v", {"products": ["nginx", "baseos", "nginx", "appstream"]}, content
    )
    assert stored == {"products": ["nginx", "baseos", "appstream"]}


def test_a_list_may_be_given_as_one_string(content):
    stored = catalog.validate_entry("activation_keys", "k", {"views": "web, base web"}, content)
    assert stored == {"views": ["web", "base"]}


@pytest.mark.parametrize("value", [[], " , ", {"base": 1}, 7])
def test_lists_need_at_least_one_name(content, value):
    assert "views" in refused(
        lambda: catalog.validate_entry("activation_keys", "k", {"views": value}, content)
    )


def test_lists_are_bounded(content):
    content["products"] = {f"p{i}": {"url": "http://h/"} for i in range(catalog.LIST_MAX + 1)}
    many = list(content["products"])
    assert "at most 1000 names" in refused(
        lambda: catalog.validate_entry("views", "v", {"products": many}, content)
    )
    assert len(catalog.validate_entry("views", "v", {"products": many[:-1]}, content)["products"]) == 1000


# ---- host groups: network, pool, placement


@pytest.mark.parametrize("field", ["network", "pool"])
@pytest.mark.parametrize("value", ["br0;id", "../default", "{{7*7}}", "a b", ""])
def test_networks_and_pools_follow_the_name_rule(content, field, value):
    assert field in refused(
        lambda: catalog.validate_entry("host_groups", "g", entry("host_groups", **{field: value}), content)
    )


@pytest.mark.parametrize(
    "value,stored",
    [
        ({"kind": "any"}, {"kind": "any"}),
        ("any", {"kind": "any"}),
        ({"kind": "host", "value": "hv1"}, {"kind": "host", "value": "hv1"}),
        (
            {"kind": "grain", "key": "brine:rack", "value": "r1"},
            {"kind": "grain", "key": "brine:rack", "value": "r1"},
        ),
        (
            {"kind": "pillar", "key": "site.zone", "value": "Zone A"},
            {"kind": "pillar", "key": "site.zone", "value": "Zone A"},
        ),
        (
            {"kind": "grain", "key": "num_cpus", "value": 8},
            {"kind": "grain", "key": "num_cpus", "value": "8"},
        ),
    ],
)
def test_placements_are_taken(content, value, stored):
    assert (
        catalog.validate_entry("host_groups", "g", entry("host_groups", placement=value), content)[
            "placement"
        ]
        == stored
    )


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "rack"},
        {"kind": None},
        {"kind": "any", "value": "hv1"},
        {"kind": "host"},
        {"kind": "host", "value": "hv1;id"},
        {"kind": "host", "value": "../hv1"},
        {"kind": "host", "value": "hv1", "key": "x"},
        {"kind": "grain", "value": "r1"},
        {"kind": "grain", "key": "a b", "value": "r1"},
        {"kind": "grain", "key": "a::b", "value": "r1"},
        {"kind": "grain", "key": ":a", "value": "r1"},
        {"kind": "grain", "key": "{{7*7}}", "value": "r1"},
        {"kind": "grain", "key": "k" * 257, "value": "r1"},
        {"kind": "pillar", "key": "rack", "value": "{{7*7}}"},
        {"kind": "pillar", "key": "rack", "value": "r1'"},
        {"kind": "pillar", "key": "rack", "value": 'r1"'},
        {"kind": "pillar", "key": "rack", "value": "r1\\"},
        {"kind": "pillar", "key": "rack", "value": "r1\n"},
        {"kind": "pillar", "key": "rack", "value": "\x00"},
        {"kind": "pillar", "key": "rack", "value": " r1"},
        {"kind": "pillar", "key": "rack", "value": "v" * 257},
        {"kind": "pillar", "key": "rack", "value": True},
        ["any"],
        "host",
    ],
    ids=repr,
)
def test_bad_placements_are_refused(content, value):
    assert "placement" in refused(
        lambda: catalog.validate_entry("host_groups", "g", entry("host_groups", placement=value), content)
    )


# ---- who uses what


def test_users_of_names_every_user_sorted(content):
    assert catalog.users_of(content, "products", "appstream") == ["views/base", "views/web"]
    assert catalog.users_of(content, "views", "base") == ["activation_keys/plain", "activation_keys/web"]
    assert catalog.users_of(content, "profiles", "small") == ["host_groups/web"]
    assert catalog.users_of(content, "activation_keys", "web") == ["host_groups/web"]
    assert catalog.users_of(content, "os_trees", "f37") == ["host_groups/lab"]


def test_unused_entries_have_no_users(content):
    assert catalog.users_of(content, "host_groups", "web") == []
    assert catalog.users_of(content, "activation_keys", "plain") == []
    assert catalog.users_of({}, "products", "baseos") == []


def test_the_kinds_that_refer_to_each_other():
    assert catalog.referring_kinds("products") == ["views"]
    assert catalog.referring_kinds("profiles") == ["host_groups"]
    assert catalog.referenced_kinds("host_groups") == ["activation_keys", "os_trees", "profiles"]
    assert catalog.referenced_kinds("profiles") == []


# ---- repositories


def test_each_repository_comes_once_in_a_stable_order(content):
    # web = views base (baseos, appstream) + web (nginx, appstream): appstream once, where first seen.
    expected = [
        {"name": "baseos", "url": "http://mirror.example.com/rhel9/BaseOS/"},
        {"name": "appstream", "url": "http://mirror.example.com/rhel9/AppStream/"},
        {"name": "nginx", "url": "https://nginx.example.com/rhel/9/$basearch/"},
    ]
    assert catalog.repositories(content, "web") == expected
    content["activation_keys"]["web"]["views"] = ["web", "base"]
    assert [repo["name"] for repo in catalog.repositories(content, "web")] == ["nginx", "appstream", "baseos"]


@pytest.mark.parametrize("key", [None, ""])
def test_no_key_gets_no_repositories(content, key):
    assert catalog.repositories(content, key) == []


def test_repositories_of_an_unknown_key_are_no_entry(content):
    refused(lambda: catalog.repositories(content, "nope"), "no_entry")


def test_repositories_check_entries_edited_by_hand(content):
    content["views"]["web"]["products"].append("gone")
    sentence = refused(lambda: catalog.repositories(content, "web"), "no_entry")
    assert sentence == "view 'web' in the catalog: products names product 'gone', which is not in the catalog"


# ---- resolve: the parts of a create


def test_a_host_group_gives_every_part(content):
    assert catalog.resolve(content, host_group="web") == {
        "host_group": "web",
        "profile": "small",
        "memory": 2048,
        "vcpus": 2,
        "disk": 20,
        "os_tree": "rhel9",
        "url": "http://mirror.example.com/rhel9/os/",
        "os_variant": "rhel9.0",
        "kickstart": "rhel",
        "activation_key": "web",
        "repositories": catalog.repositories(content, "web"),
        "network": "default",
        "pool": "default",
        "placement": {"kind": "grain", "key": "brine:rack", "value": "r1"},
    }


def test_parts_given_beside_a_host_group_override_it(content):
    plan = catalog.resolve(
        content,
        host_group="web",
        profile="big",
        vcpus="3",
        os_tree="f37",
        activation_key="plain",
        network="lab",
    )
    assert (plan["profile"], plan["memory"], plan["vcpus"], plan["disk"]) == ("big", 16384, 3, 200)
    assert (plan["os_tree"], plan["os_variant"], plan["kickstart"]) == ("f37", "fedora37", "fedora")
    assert [repo["name"] for repo in plan["repositories"]] == ["baseos", "appstream"]
    assert (plan["network"], plan["pool"]) == ("lab", "default")


def test_a_host_given_places_the_vm_there(content):
    assert catalog.resolve(content, host_group="web", host="hv2")["placement"] == {
        "kind": "host",
        "value": "hv2",
    }


def test_parts_without_a_host_group(content):
    plan = catalog.resolve(content, memory=1024, vcpus=1, disk=8, os_tree="rhel9", network="n", pool="p")
    assert plan["host_group"] is None and plan["profile"] is None and plan["activation_key"] is None
    assert (plan["memory"], plan["vcpus"], plan["disk"]) == (1024, 1, 8)
    assert plan["repositories"] == [] and plan["placement"] == {"kind": "any"}


def test_empty_parts_are_not_given(content):
    plan = catalog.resolve(content, host_group="web", profile="", memory=None, activation_key="", host="")
    assert plan == catalog.resolve(content, host_group="web")


@pytest.mark.parametrize(
    "parts,missing",
    [
        ({}, "os_tree, network, pool, memory, vcpus, disk"),
        ({"os_tree": "rhel9", "network": "n", "pool": "p", "memory": 512}, "vcpus, disk"),
        ({"profile": "small", "network": "n"}, "os_tree, pool"),
    ],
)
def test_missing_parts_are_named(content, parts, missing):
    sentence = refused(lambda: catalog.resolve(content, **parts))
    assert sentence.endswith(f"missing {missing}")


@pytest.mark.parametrize(
    "parts",
    [
        {"host_group": "nope"},
        {"host_group": "web", "profile": "nope"},
        {"host_group": "web", "os_tree": "nope"},
        {"host_group": "web", "activation_key": "nope"},
    ],
)
def test_unknown_entries_in_a_create_are_no_entry(content, parts):
    assert "'nope', which is not in the catalog" in refused(
        lambda: catalog.resolve(content, **parts), "no_entry"
    )


@pytest.mark.parametrize(
    "parts",
    [
        {"host_group": "{{7*7}}"},
        {"host_group": "web", "network": "a;b"},
        {"host_group": "web", "pool": "../x"},
        {"host_group": "web", "memory": 0},
        {"host_group": "web", "disk": 10**9},
        {"host_group": "web", "vcpus": 257},
        {"host_group": "web", "host": "hv1 ; id"},
        {"host_group": "web", "profile": "$(id)"},
    ],
    ids=repr,
)
def test_bad_parts_in_a_create_are_refused(content, parts):
    refused(lambda: catalog.resolve(content, **parts))


def test_an_unknown_part_is_refused(content):
    assert "no part colour" in refused(lambda: catalog.resolve(content, host_group="web", colour="red"))


def test_entries_edited_by_hand_are_checked_when_used(content):
    content["profiles"]["small"]["memory"] = 10**9
    sentence = refused(lambda: catalog.resolve(content, host_group="web"))
    assert sentence.startswith("profile 'small' in the catalog: memory must be at most")
    content["host_groups"]["web"]["placement"] = {"kind": "grain", "key": "rack", "value": "{{7*7}}"}
    assert "host group 'web' in the catalog: placement value" in refused(
        lambda: catalog.resolve(content, host_group="web")
    )


# ---- the documentation each file carries


@pytest.mark.parametrize("kind", catalog.KINDS)
def test_every_field_is_documented(kind):
    assert all(catalog.FIELD_HELP.get(field) for field in catalog.FIELDS[kind])
    assert catalog.ABOUT[kind]


def test_the_documented_examples_are_valid_entries():
    content = {}
    for kind in catalog.KINDS:
        for name, fields in catalog.EXAMPLES[kind].items():
            content.setdefault(kind, {})[name] = catalog.validate_entry(kind, name, fields, content)
    assert set(content) == set(catalog.KINDS)
