"""
The catalog on disk (docs/provisioning.md, Storage; issue 10, item 2): one documented, safe YAML
file per kind, changed atomically under one lock, validated inside it, deletes refused while
others use the entry.
"""

import fcntl
import multiprocessing
import os
import stat
import threading
import time

import pytest
import yaml

from brine import catalog
from brine import catalog_store
from brine import errors
from support.catalogs import fill
from support.catalogs import sample
from support.catalogs import use_templates


@pytest.fixture(autouse=True)
def templates(monkeypatch):
    use_templates(monkeypatch)


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "catalog"


@pytest.fixture
def store(folder):
    return catalog_store.Store(folder)


@pytest.fixture
def filled(store):
    fill(store)
    return store


def refused(call, code):
    with pytest.raises(errors.Refused) as caught:
        call()
    assert caught.value.code == code, caught.value
    return caught.value.sentence


# ---- reading and writing


def test_a_missing_folder_is_an_empty_catalog_and_reading_creates_nothing(store, folder):
    assert store.read() == {kind: {} for kind in catalog.KINDS}
    assert not folder.exists()


def test_what_is_set_is_read_back(filled):
    assert filled.read() == sample()


def test_set_returns_the_fields_as_stored(store):
    assert store.set("profiles", "p", {"memory": "512", "vcpus": "1", "disk": 4}) == {
        "memory": 512,
        "vcpus": 1,
        "disk": 4,
    }
    assert store.read()["profiles"] == {"p": {"memory": 512, "vcpus": 1, "disk": 4}}


def test_set_replaces_the_whole_entry(filled):
    filled.set("host_groups", "web", {**sample()["host_groups"]["web"], "activation_key": None})
    assert filled.read()["host_groups"]["web"]["activation_key"] is None


def test_the_folder_and_files_are_private_to_the_master(filled, folder):
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    for kind in catalog.KINDS:
        assert stat.S_IMODE((folder / f"{kind}.yaml").stat().st_mode) == 0o640
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [".lock"] + [f"{k}.yaml" for k in catalog.KINDS]
    )


@pytest.mark.parametrize("kind", catalog.KINDS)
def test_each_file_opens_with_a_header_that_documents_its_kind(filled, folder, kind):
    text = (folder / f"{kind}.yaml").read_text()
    comment = [line for line in text.splitlines() if line.startswith("#")]
    assert text.startswith(f"# Brine's provisioning catalog: {kind}. ")
    assert text.splitlines()[: len(comment)] == comment
    for field in catalog.FIELDS[kind]:
        assert any(line.startswith(f"#   {field} ") for line in comment), field
    assert any("provision.catalog_set" in line for line in comment)


def test_files_are_sorted_safe_yaml_that_round_trips(filled, folder):
    text = (folder / "host_groups.yaml").read_text()
    assert "!!" not in text and "&id" not in text
    body = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert body[0] == "lab:" and "web:" in body
    assert yaml.safe_load(text) == sample()["host_groups"]


def test_a_deleted_last_entry_leaves_a_documented_empty_file(filled, folder):
    filled.delete("host_groups", "web")
    filled.delete("host_groups", "lab")
    text = (folder / "host_groups.yaml").read_text()
    assert text.startswith("# Brine's provisioning catalog") and yaml.safe_load(text) == {}
    assert filled.read()["host_groups"] == {}


def test_a_refused_set_writes_nothing(filled, folder):
    before = (folder / "profiles.yaml").read_bytes()
    with pytest.raises(errors.Invalid):
        filled.set("profiles", "huge", {"memory": 10**9, "vcpus": 1, "disk": 1})
    with pytest.raises(errors.Invalid) as caught:
        filled.set("host_groups", "g", {**sample()["host_groups"]["web"], "profile": "nope"})
    assert caught.value.code == "no_entry"
    assert (folder / "profiles.yaml").read_bytes() == before
    assert "g" not in filled.read()["host_groups"]


@pytest.mark.parametrize("name", ["{{7*7}}", "../profiles", "a;b", "a/b"])
def test_bad_names_are_refused_before_the_folder_is_touched(store, folder, name):
    with pytest.raises(errors.Invalid):
        store.set("profiles", name, {"memory": 512, "vcpus": 1, "disk": 1})
    with pytest.raises(errors.Invalid):
        store.delete("profiles", name)
    assert not folder.exists()


@pytest.mark.parametrize("kind", ["../etc/passwd", "secrets", None])
def test_unknown_kinds_name_no_file(store, folder, kind):
    with pytest.raises(errors.Invalid, match="kind must be one of"):
        store.set(kind, "x", {})
    assert not folder.exists()


# ---- deleting


def test_delete_removes_an_unused_entry_and_returns_it(filled):
    assert filled.delete("host_groups", "lab") == sample()["host_groups"]["lab"]
    assert filled.delete("profiles", "big") == sample()["profiles"]["big"]
    assert "big" not in filled.read()["profiles"]


@pytest.mark.parametrize(
    "kind,name,users",
    [
        ("products", "appstream", "views/base, views/web"),
        ("views", "base", "activation_keys/plain, activation_keys/web"),
        ("profiles", "small", "host_groups/web"),
        ("os_trees", "rhel9", "host_groups/web"),
        ("activation_keys", "web", "host_groups/web"),
    ],
)
def test_delete_of_an_entry_in_use_is_refused_naming_its_users(filled, folder, kind, name, users):
    before = (folder / f"{kind}.yaml").read_bytes()
    sentence = refused(lambda: filled.delete(kind, name), "in_use")
    assert f"is used by {users}:" in sentence
    assert (folder / f"{kind}.yaml").read_bytes() == before


def test_delete_of_what_is_not_there_is_no_entry(filled, store):
    assert "no product 'nope'" in refused(lambda: filled.delete("products", "nope"), "no_entry")
    refused(lambda: catalog_store.Store(store.directory + "-empty").delete("products", "x"), "no_entry")


# ---- atomic writes


def test_a_failed_rename_leaves_the_old_file_and_no_temporary(filled, folder, monkeypatch):
    before = (folder / "profiles.yaml").read_bytes()

    def crash(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(catalog_store.os, "replace", crash)
    sentence = refused(
        lambda: filled.set("profiles", "new", {"memory": 512, "vcpus": 1, "disk": 1}), "internal"
    )
    assert "profiles.yaml" in sentence and "No space left" in sentence
    assert (folder / "profiles.yaml").read_bytes() == before
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_crash_while_writing_leaves_the_old_file(filled, folder, monkeypatch):
    before = (folder / "views.yaml").read_bytes()

    def crash(_fd):
        raise KeyboardInterrupt  # the process dies between write and rename

    monkeypatch.setattr(catalog_store.os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        filled.set("views", "more", {"products": ["nginx"]})
    assert (folder / "views.yaml").read_bytes() == before
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_writes_go_through_a_synced_temporary_file_in_the_same_folder(store, folder, monkeypatch):
    seen = []
    real_replace, real_fsync = os.replace, os.fsync
    monkeypatch.setattr(catalog_store.os, "fsync", lambda fd: seen.append(("fsync", fd)) or real_fsync(fd))

    def replace(source, target):
        seen.append(("replace", os.path.dirname(source), os.path.dirname(target)))
        real_replace(source, target)

    monkeypatch.setattr(catalog_store.os, "replace", replace)
    store.set("products", "p", {"url": "http://h/"})
    steps = [step[0] for step in seen]
    assert steps == ["fsync", "replace", "fsync"]  # the file's data, the rename, the folder
    assert seen[1][1] == seen[1][2] == str(folder)


# ---- the lock


def test_a_change_waits_for_the_lock_and_reads_the_files_again_inside_it(filled, folder):
    holder = os.open(folder / ".lock", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    done = []
    worker = threading.Thread(
        target=lambda: done.append(filled.set("views", "late", {"products": ["early"]}))
    )
    try:
        worker.start()
        time.sleep(0.3)
        assert not done and worker.is_alive()
        # Another writer's change, made while the lock is held: the waiting set must see it.
        entries = {**yaml.safe_load((folder / "products.yaml").read_text()), "early": {"url": "http://h/"}}
        catalog_store.write_atomically(
            str(folder / "products.yaml"), catalog_store.render("products", entries)
        )
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    worker.join(5)
    assert done == [{"products": ["early"]}]
    assert filled.read()["views"]["late"] == {"products": ["early"]}


def test_a_read_waits_while_a_change_holds_the_lock(filled, folder):
    holder = os.open(folder / ".lock", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    got = []
    reader = threading.Thread(target=lambda: got.append(filled.read()))
    try:
        reader.start()
        time.sleep(0.3)
        assert not got
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    reader.join(5)
    assert got and got[0]["profiles"]


def _set_many(directory, worker, count):
    store = catalog_store.Store(directory)
    for i in range(count):
        store.set("profiles", f"w{worker}-{i}", {"memory": 64 + i, "vcpus": 1, "disk": 1})


def test_concurrent_processes_lose_no_entry(store, folder):
    workers, count = 6, 25
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_set_many, args=(str(folder), w, count)) for w in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert len(store.read()["profiles"]) == workers * count


# ---- files that are not a catalog


@pytest.mark.parametrize(
    "text,said",
    [
        ("- a\n- b\n", "is not a mapping of names to fields"),
        ("just text\n", "is not a mapping of names to fields"),
        ("small: 5\n", "the entry 'small' is not a mapping of fields"),
        ("~: {memory: 1}\n", "which is not a name"),
        ("1.5: {memory: 1}\n", "which is not a name"),
        ("small: {memory: [\n", "is not valid YAML at line"),
        ("x: !!python/object/apply:os.system ['touch /tmp/brine-pwned']\n", "is not valid YAML"),
    ],
)
def test_a_file_that_is_not_a_catalog_is_refused_naming_it(store, folder, text, said):
    folder.mkdir()
    (folder / "profiles.yaml").write_text(text)
    sentence = refused(store.read, "internal")
    assert str(folder / "profiles.yaml") in sentence and said in sentence
    refused(lambda: store.set("profiles", "p", {"memory": 512, "vcpus": 1, "disk": 1}), "internal")


def test_a_file_of_comments_only_is_empty(store, folder):
    folder.mkdir()
    (folder / "views.yaml").write_text(catalog_store.header("views"))
    assert store.read()["views"] == {}


def test_names_written_as_numbers_by_hand_are_read_as_names(store, folder):
    folder.mkdir()
    (folder / "profiles.yaml").write_text("123: {memory: 512, vcpus: 1, disk: 1}\n")
    assert store.read()["profiles"] == {"123": {"memory": 512, "vcpus": 1, "disk": 1}}


# ---- what a process has parsed


def test_an_edit_of_the_same_size_in_place_is_read(filled, folder):
    filled.read()
    path = folder / "profiles.yaml"
    text = path.read_text()
    edited = text.replace("memory: 2048", "memory: 4096")
    assert len(edited) == len(text) and edited != text
    with open(path, "r+", encoding="utf-8") as file:  # same inode, same size
        file.write(edited)
    assert filled.read()["profiles"]["small"]["memory"] == 4096


def test_each_read_gets_objects_of_its_own(filled):
    first = filled.read()
    first["host_groups"]["web"]["placement"]["value"] = "changed"
    first["views"]["base"]["products"].append("changed")
    assert filled.read() == sample()


def test_what_another_process_writes_is_read(filled, folder):
    filled.read()
    entries = {**sample()["products"], "extra": {"url": "http://h/extra/"}}
    # Written without this process's store: nothing it remembers knows of the change.
    catalog_store.write_atomically(str(folder / "products.yaml"), catalog_store.render("products", entries))
    assert filled.read()["products"] == entries
