"""
Unit tests of ``brine.vcluster_backends`` and ``brine.vcluster_images``: a virtual cluster
repository read from a local folder and from a real HTTP server on loopback, images assembled
from raw, gzip, split and split-gzip parts built here, checked by sha256 (and qcow2's magic)
before they get their final name, and nothing usable left by a failure half-way.
"""

import gzip
import hashlib
import http.server
import io
import os
import threading
import time
import urllib.parse

import pytest

from brine import errors
from brine import vcluster_backends
from brine import vcluster_images
from brine.vcluster_backends import HttpRepository
from brine.vcluster_backends import LocalRepository

# An image larger than one chunk (1 MiB), so every copy loops.
IMAGE = bytes(range(256)) * 6000
QCOW2 = b"QFI\xfb" + bytes(range(200)) * 1000


def sha(data):
    return hashlib.sha256(data).hexdigest()


def slices(data, count):
    step = -(-len(data) // count)
    return [data[i : i + step] for i in range(0, len(data), step)]


def stored(kind, filename, data):
    """``(parts {name: bytes}, entry)`` of ``data`` stored as ``kind`` under ``filename``."""
    packed = gzip.compress(data, mtime=0) if kind in ("gzip", "splited_gzip") else data
    if kind.startswith("splited"):
        pieces = slices(packed, 3)
        parts = {f"{filename}.part{index}": piece for index, piece in enumerate(pieces)}
    else:
        parts = {filename + (".gz" if kind == "gzip" else ""): packed}
    entry = {"filename": filename, "type": kind, "parts": list(parts), "sha256": sha(data), "format": "raw"}
    return parts, entry


DESCRIPTION = """<vc version='0.1'>
  <virtualization engine='kvm' type='hvm' arch='x86_64'/>
  <frontend><domain type='kvm'><name>fe</name><memory unit='MiB'>1024</memory><vcpu>1</vcpu><devices>
    <interface type='bridge'/><interface type='bridge'/>
    <disk type='file' device='disk'><source file='frontend.vda'/></disk></devices></domain></frontend>
  <compute><domain type='kvm'><name>c</name><memory unit='MiB'>512</memory><vcpu>1</vcpu><devices>
    <interface type='bridge'/>
    <disk type='file' device='disk'><source file='compute.vda'/></disk></devices></domain></compute>
  <networks><network name='private'><ipaddress>10.1.1.1</ipaddress><netmask>255.255.0.0</netmask></network>
  </networks>
  <files>{files}</files>
</vc>
"""


def file_xml(entry):
    parts = "".join(f"<part>{part}</part>" for part in entry["parts"])
    attributes = f'type="{entry["type"]}" filename="{entry["filename"]}" sha256="{entry["sha256"]}"'
    return f"<file {attributes}>{parts}</file>"


def cluster(frontend_kind="splited_gzip", compute_kind="raw", frontend=IMAGE, compute=IMAGE[::-1]):
    """A cluster's files ``{relative path: bytes}`` (description ``vc.xml`` and parts) and its two entries."""
    fe_parts, fe = stored(frontend_kind, "frontend.vda", frontend)
    c_parts, c = stored(compute_kind, "compute.vda", compute)
    files = {**fe_parts, **c_parts, "vc.xml": DESCRIPTION.format(files=file_xml(fe) + file_xml(c)).encode()}
    return files, [fe, c]


def write_tree(root, files):
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@pytest.fixture
def repo_dir(tmp_path):
    """A repository of two clusters, ``one`` (in ``one/``) and ``two`` (in ``deep/two/``)."""
    root = tmp_path / "repo"
    one, _ = cluster()
    two, _ = cluster("gzip", "splited")
    write_tree(root, {f"one/{k}": v for k, v in one.items()} | {f"deep/two/{k}": v for k, v in two.items()})
    (root / "vcdb.txt").write_text("# clusters\none,one/vc.xml\ntwo,deep/two/vc.xml\n")
    return root


def refused(code, words, call, *args, **kwargs):
    kind = errors.Invalid if code == "invalid_argument" else errors.Refused
    with pytest.raises(kind) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value
    assert words in caught.value.sentence, caught.value.sentence
    return caught.value.sentence


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# assembly from a local folder


@pytest.mark.parametrize("kind", ["raw", "gzip", "splited", "splited_gzip"])
def test_an_image_is_assembled_from_its_parts_whatever_way_it_is_stored(tmp_path, kind):
    parts, entry = stored(kind, "frontend.vda", IMAGE)
    write_tree(tmp_path / "repo" / "vc1", parts)
    cache = tmp_path / "cache" / "vc1"
    path = vcluster_images.assemble(LocalRepository(str(tmp_path / "repo")), "vc1", entry, str(cache))
    assert path == str(cache / "frontend.vda")
    assert (cache / "frontend.vda").read_bytes() == IMAGE
    assert leftovers(cache) == ["frontend.vda"]
    assert len(parts) == (3 if kind.startswith("splited") else 1)


def test_a_wrong_checksum_leaves_nothing(tmp_path):
    parts, entry = stored("splited_gzip", "frontend.vda", IMAGE)
    write_tree(tmp_path / "repo", parts)
    entry["sha256"] = sha(b"something else")
    cache = tmp_path / "cache" / "vc1"
    sentence = refused(
        "host_error",
        f"has sha256 {sha(IMAGE)}, but its description says",
        vcluster_images.assemble,
        LocalRepository(str(tmp_path / "repo")),
        "",
        entry,
        str(cache),
    )
    assert sentence.startswith(f"the image frontend.vda from {tmp_path / 'repo'}")
    assert leftovers(cache) == []


class Interrupted:
    """A repository whose parts stop with an error after ``after`` bytes (a lost connection)."""

    def __init__(self, parts, after):
        self.parts, self.after, self.opened = parts, after, []

    def open_part(self, relative_path, max_size):
        self.opened.append(relative_path)
        data = self.parts[relative_path]
        source = io.BytesIO(data[: self.after])

        def read(n):
            chunk = source.read(n)
            if not chunk:
                raise ConnectionResetError("the peer went away")
            return chunk

        return vcluster_backends.BoundedStream(read, max_size, relative_path)


@pytest.mark.parametrize("kind", ["raw", "splited_gzip"])
def test_a_stream_interrupted_half_way_leaves_no_image_and_no_partial(tmp_path, kind):
    parts, entry = stored(kind, "frontend.vda", IMAGE)
    repo = Interrupted(parts, after=len(next(iter(parts.values()))) // 2)
    cache = tmp_path / "cache"
    seen = []
    real_copy = vcluster_images._copy

    def copy(source, out, limit, what):  # watch the partial file exist while the copy runs
        seen.append(leftovers(cache))
        return real_copy(source, out, limit, what)

    vcluster_images._copy = copy
    try:
        refused(
            "unreachable",
            "stopped half-way (ConnectionResetError)",
            vcluster_images.assemble,
            repo,
            "",
            entry,
            str(cache),
        )
    finally:
        vcluster_images._copy = real_copy
    assert seen == [["frontend.vda.partial"]]
    assert leftovers(cache) == []


def test_an_interruption_of_any_kind_removes_the_partial(tmp_path):
    _parts, entry = stored("raw", "frontend.vda", IMAGE)

    class Stop:
        def open_part(self, relative_path, max_size):
            def read(n):
                raise KeyboardInterrupt

            return vcluster_backends.BoundedStream(read, max_size, relative_path)

    with pytest.raises(KeyboardInterrupt):
        vcluster_images.assemble(Stop(), "", entry, str(tmp_path / "cache"))
    assert leftovers(tmp_path / "cache") == []


class Counting(LocalRepository):
    def __init__(self, folder):
        super().__init__(folder)
        self.opened = []

    def open_part(self, relative_path, max_size=vcluster_backends.MAX_IMAGE):
        self.opened.append(relative_path)
        return super().open_part(relative_path, max_size)


def test_an_image_in_the_cache_with_the_right_sha256_is_not_fetched_again(tmp_path):
    parts, entry = stored("splited", "frontend.vda", IMAGE)
    write_tree(tmp_path / "repo", parts)
    repo, cache = Counting(str(tmp_path / "repo")), tmp_path / "cache"
    first = vcluster_images.assemble(repo, "", entry, str(cache))
    assert len(repo.opened) == 3
    assert vcluster_images.assemble(repo, "", entry, str(cache)) == first
    assert len(repo.opened) == 3
    (cache / "frontend.vda").write_bytes(IMAGE[:-1] + b"!")  # corrupt: fetched again and replaced
    (cache / "frontend.vda.partial").write_bytes(b"left by a crash")
    assert vcluster_images.assemble(repo, "", entry, str(cache)) == first
    assert len(repo.opened) == 6
    assert (cache / "frontend.vda").read_bytes() == IMAGE
    assert leftovers(cache) == ["frontend.vda"]


def test_a_qcow2_image_must_start_with_qcow2s_magic(tmp_path):
    write_tree(tmp_path / "repo", {"good.qcow2": QCOW2, "bad.qcow2": IMAGE})
    repo, cache = LocalRepository(str(tmp_path / "repo")), tmp_path / "cache"
    good = {
        "filename": "good.qcow2",
        "type": "raw",
        "parts": ["good.qcow2"],
        "sha256": sha(QCOW2),
        "format": "qcow2",
    }
    assert vcluster_images.assemble(repo, "", good, str(cache)) == str(cache / "good.qcow2")
    bad = {**good, "filename": "bad.qcow2", "parts": ["bad.qcow2"], "sha256": sha(IMAGE)}
    refused(
        "host_error",
        "is described as qcow2 but does not start with qcow2's magic",
        vcluster_images.assemble,
        repo,
        "",
        bad,
        str(cache),
    )
    assert leftovers(cache) == ["good.qcow2"]
    raw = {**bad, "format": "raw"}  # a raw image is not looked into
    assert vcluster_images.assemble(repo, "", raw, str(cache)) == str(cache / "bad.qcow2")


def test_a_corrupt_or_truncated_gzip_stream_is_refused(tmp_path):
    packed = gzip.compress(IMAGE)
    write_tree(tmp_path / "repo", {"a.gz": b"not gzip at all", "b.gz": packed[: len(packed) // 2]})
    repo, cache = LocalRepository(str(tmp_path / "repo")), tmp_path / "cache"
    for part in ("a.gz", "b.gz"):
        entry = {"filename": part[0], "type": "gzip", "parts": [part], "sha256": sha(IMAGE)}
        refused(
            "host_error", "is not a whole gzip stream", vcluster_images.assemble, repo, "", entry, str(cache)
        )
    assert leftovers(cache) == []


def test_sizes_are_bounded_in_and_out(tmp_path):
    bomb = gzip.compress(b"\0" * (8 * 1024 * 1024))  # 8 MiB out of a few KiB in
    write_tree(tmp_path / "repo", {"bomb.gz": bomb, "big": IMAGE, "empty": b""})
    repo, cache = LocalRepository(str(tmp_path / "repo")), tmp_path / "cache"
    entry = {
        "filename": "bomb",
        "type": "gzip",
        "parts": ["bomb.gz"],
        "sha256": sha(b"\0" * (8 * 1024 * 1024)),
    }
    refused(
        "host_error",
        "is larger than 1048576 bytes once assembled",
        vcluster_images.assemble,
        repo,
        "",
        entry,
        str(cache),
        max_size=1024 * 1024,
    )
    entry = {"filename": "big", "type": "raw", "parts": ["big"], "sha256": sha(IMAGE)}
    refused("host_error", "big in", vcluster_images.assemble, repo, "", entry, str(cache), max_size=1000)
    entry = {"filename": "empty", "type": "raw", "parts": ["empty"], "sha256": sha(b"")}
    refused("host_error", "is empty once assembled", vcluster_images.assemble, repo, "", entry, str(cache))
    assert leftovers(cache) == []
    for size in (0, True, 64 * 1024**3 + 1, "1"):
        refused(
            "invalid_argument",
            "max_size",
            vcluster_images.assemble,
            repo,
            "",
            entry,
            str(cache),
            max_size=size,
        )


def test_an_entry_and_its_folder_are_checked_before_anything_is_read(tmp_path):
    repo = Counting(str(tmp_path))
    entry = {"filename": "../x", "type": "raw", "parts": ["x"], "sha256": sha(b"x")}
    refused(
        "invalid_argument", "has an empty, '.' or '..' part", vcluster_images.assemble, repo, "", entry, "c"
    )
    entry = {"filename": "x", "type": "raw", "parts": ["x"], "sha256": sha(b"x")}
    refused(
        "invalid_argument", "description_dir '../up'", vcluster_images.assemble, repo, "../up", entry, "c"
    )
    (tmp_path / "cache").mkdir()
    os.symlink("/etc/hostname", tmp_path / "cache" / "x")
    refused(
        "invalid_argument",
        "would be written outside the cache folder",
        vcluster_images.assemble,
        repo,
        "",
        entry,
        str(tmp_path / "cache"),
    )
    assert repo.opened == []


# the local folder


def test_a_local_repository_reads_only_inside_its_folder(tmp_path, repo_dir):
    (tmp_path / "secret.xml").write_text("<vc/>")
    (tmp_path / "secret.img").write_bytes(b"secret")
    os.symlink(tmp_path / "secret.xml", repo_dir / "out.xml")
    os.symlink(tmp_path, repo_dir / "up")
    os.symlink(repo_dir / "one" / "vc.xml", repo_dir / "inside.xml")
    repo = LocalRepository(str(repo_dir))
    assert repo.description_text("inside.xml") == repo.description_text("one/vc.xml")
    refused(
        "invalid_argument",
        "the description path 'out.xml' points outside the repository",
        repo.description_text,
        "out.xml",
    )
    refused(
        "invalid_argument", "the image part 'up/secret.img' points outside", repo.open_part, "up/secret.img"
    )
    refused("invalid_argument", "has an empty, '.' or '..' part", repo.open_part, "../secret.img")
    refused("invalid_argument", "is an absolute path", repo.open_part, str(tmp_path / "secret.img"))
    refused("no_image", "has no file one/missing.xml", repo.description_text, "one/missing.xml")
    refused("no_image", "has no file one", repo.open_part, "one")
    refused("invalid_argument", "is not a directory", LocalRepository, str(tmp_path / "secret.img"))


def test_a_vcdb_line_pointing_outside_the_repository_fails_its_cluster_only(tmp_path, repo_dir):
    (tmp_path / "secret.xml").write_text("<vc/>")
    os.symlink(tmp_path / "secret.xml", repo_dir / "out.xml")
    (repo_dir / "vcdb.txt").write_text("one,one/vc.xml\nbad,out.xml\n")
    found = vcluster_images.sync(LocalRepository(str(repo_dir)), str(tmp_path / "cache"))
    assert [(c["name"], c["ok"]) for c in found] == [("one", True), ("bad", False)]
    assert found[1]["error"] == f"the description path 'out.xml' points outside the repository {repo_dir}"
    assert found[1]["images"] == []


def test_texts_are_bounded_and_utf8(tmp_path, repo_dir):
    (repo_dir / "vcdb.txt").write_bytes(b"#" * (1024 * 1024 + 1))
    refused("host_error", "vcdb.txt in", LocalRepository(str(repo_dir)).vcdb_text)
    (repo_dir / "vcdb.txt").write_bytes(b"one,one/vc.xml\n\xff\n")
    refused("invalid_argument", "vcdb.txt is not UTF-8 text", LocalRepository(str(repo_dir)).vcdb_text)


# sync


def test_sync_assembles_every_cluster_into_its_own_folder(tmp_path, repo_dir):
    cache = tmp_path / "cache"
    found = vcluster_images.sync(LocalRepository(str(repo_dir)), str(cache))
    assert found == [
        {
            "name": "one",
            "ok": True,
            "error": None,
            "images": [str(cache / "one" / "frontend.vda"), str(cache / "one" / "compute.vda")],
        },
        {
            "name": "two",
            "ok": True,
            "error": None,
            "images": [str(cache / "two" / "frontend.vda"), str(cache / "two" / "compute.vda")],
        },
    ]
    assert (cache / "two" / "frontend.vda").read_bytes() == IMAGE
    assert (cache / "two" / "compute.vda").read_bytes() == IMAGE[::-1]
    assert vcluster_images.sync(LocalRepository(str(repo_dir)), str(cache), names=["two"]) == found[1:]


def test_a_cluster_that_fails_says_why_and_the_others_go_on(tmp_path, repo_dir):
    (repo_dir / "one" / "frontend.vda.part1").write_bytes(b"garbage")
    xml = (repo_dir / "deep" / "two" / "vc.xml").read_text()
    (repo_dir / "deep" / "two" / "vc.xml").write_text(xml.replace("x86_64", "ppc64le"))
    (repo_dir / "vcdb.txt").write_text("one,one/vc.xml\ntwo,deep/two/vc.xml\nthree,three/vc.xml\n")
    files, _ = cluster("raw", "gzip")
    write_tree(repo_dir / "three", files)
    cache = tmp_path / "cache"
    found = vcluster_images.sync(LocalRepository(str(repo_dir)), str(cache))
    assert [(c["name"], c["ok"]) for c in found] == [("one", False), ("two", False), ("three", True)]
    assert found[0]["error"].startswith(f"the image frontend.vda from {repo_dir} is not a whole gzip stream")
    assert "is for the 'ppc64le' architecture" in found[1]["error"]
    assert leftovers(cache) == ["compute.vda", "frontend.vda"]  # three's only


def test_names_are_checked_before_anything_is_read(tmp_path, repo_dir):
    repo = Counting(str(repo_dir))
    refused(
        "invalid_argument",
        "names: the repository has no cluster nine",
        vcluster_images.sync,
        repo,
        str(tmp_path),
        names=["one", "nine"],
    )
    refused(
        "invalid_argument",
        "names '../one' is not a valid cluster name",
        vcluster_images.sync,
        repo,
        str(tmp_path),
        names=["../one"],
    )
    refused("invalid_argument", "names must be a list", vcluster_images.sync, repo, str(tmp_path), names=5)
    assert repo.opened == []
    assert [c["name"] for c in vcluster_images.sync(repo, str(tmp_path / "c"), names="two")] == ["two"]


# the http(s) backend, against a real HTTP server on loopback


class Files(http.server.BaseHTTPRequestHandler):
    """Serves the server's ``files`` ({path: bytes}) unless one of its ``rules`` says otherwise."""

    def do_GET(self):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        self.server.asked.append(self.path)
        rule, data = self.server.rules.get(path, ("serve",)), self.server.files.get(path)
        try:
            if rule[0] == "sleep":
                time.sleep(rule[1])
            if rule[0] == "redirect":
                self.send_response(302)
                self.send_header("Location", rule[1])
                self.end_headers()
            elif rule[0] == "status" or data is None:
                self.send_response(rule[1] if rule[0] == "status" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(200)
                if rule[0] == "gzip-encoded":
                    data = gzip.compress(data)
                    self.send_header("Content-Encoding", "gzip")
                if rule[0] != "no-length":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if rule[0] == "truncate" else data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def server(repo_dir):
    """A server of ``repo_dir``'s files below ``/repo/`` (``server.url``)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    httpd.rules, httpd.asked = {}, []
    httpd.files = {
        f"/repo/{p.relative_to(repo_dir)}": p.read_bytes() for p in repo_dir.rglob("*") if p.is_file()
    }
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/repo"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_an_http_repository_is_synced_like_a_local_one(tmp_path, server):
    cache = tmp_path / "cache"
    repo = HttpRepository(server.url, str(cache))
    found = vcluster_images.sync(repo, str(cache))
    assert [(c["name"], c["ok"], c["error"]) for c in found] == [("one", True, None), ("two", True, None)]
    assert (cache / "one" / "frontend.vda").read_bytes() == IMAGE
    assert (cache / "two" / "compute.vda").read_bytes() == IMAGE[::-1]
    assert server.asked[:4] == [
        "/repo/vcdb.txt",
        "/repo/one/vc.xml",
        "/repo/one/frontend.vda.part0",
        "/repo/one/frontend.vda.part1",
    ]
    # what it read of texts is kept, a copy a local repository reads while the server is away
    mirror = LocalRepository(str(cache / ".repository"))
    assert mirror.vcdb_text() == (server.files["/repo/vcdb.txt"]).decode()
    assert mirror.description_text("deep/two/vc.xml") == server.files["/repo/deep/two/vc.xml"].decode()
    assert sorted(os.listdir(cache)) == [".repository", "one", "two"]
    repo.close()


class NoNetwork:
    def get(self, *args, **kwargs):
        raise AssertionError("nothing is fetched for a bad URL")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///srv/repo", "is not http or https"),
        ("ftp://mirror.example.org/repo", "is not http or https"),
        ("javascript:alert(1)", "is not http or https"),
        ("HTTP://", "names no host"),
        ("http:///srv/repo", "names no host"),
        ("http://user:secret@mirror.example.org/repo", "carries credentials"),
        ("http://user@mirror.example.org/repo", "carries credentials"),
        ("http://mirror.example.org/repo?token=1", "has a query or fragment"),
        ("http://mirror.example.org/repo#top", "has a query or fragment"),
        ("http://mirror.example.org:99999/repo", "is not a URL"),
        ("http://mirror.example.org/a repo", "holds a space or a control character"),
        ("http://mirror.example.org/\nrepo", "holds a space or a control character"),
        ("http://mirror.example.org/" + "a" * 2048, "of at most 2048 characters"),
        (None, "is not an http or https URL"),
    ],
)
def test_an_http_repository_url_of_another_kind_is_refused(tmp_path, url, words):
    sentence = refused("invalid_argument", words, HttpRepository, url, str(tmp_path), session=NoNetwork())
    assert sentence.startswith("url ")
    assert os.listdir(tmp_path) == []  # nothing made


def test_each_part_of_a_path_is_percent_encoded_below_the_base(tmp_path, server):
    repo = HttpRepository(server.url + "/", str(tmp_path), session=NoNetwork())
    assert repo.url_of("a b/c#d%2e?.gz") == f"{server.url}/a%20b/c%23d%252e%3F.gz"
    refused("invalid_argument", "has an empty, '.' or '..' part", repo.url_of, "a/../../etc")
    refused("invalid_argument", "is an absolute path", repo.url_of, "/etc/passwd")
    server.files["/repo/we ird/p#1%2e?"] = b"odd"
    with HttpRepository(server.url, str(tmp_path)).open_part("we ird/p#1%2e?") as stream:
        assert stream.read() == b"odd"
    assert server.asked == ["/repo/we%20ird/p%231%252e%3F"]


def test_redirects_are_followed_within_the_same_host_only(tmp_path, server):
    repo = HttpRepository(server.url, str(tmp_path))
    server.rules["/repo/vcdb.txt"] = ("redirect", "/repo/moved.txt")
    server.files["/repo/moved.txt"] = b"one,one/vc.xml\n"
    assert repo.vcdb_text() == "one,one/vc.xml\n"
    server.rules["/repo/vcdb.txt"] = ("redirect", "http://localhost:1/vcdb.txt")
    refused("host_error", "redirects vcdb.txt to another host, which Brine does not follow", repo.vcdb_text)
    for elsewhere in ("javascript:alert(1)", "ftp://127.0.0.1/vcdb.txt", f"https{server.url[4:]}/moved.txt"):
        server.rules["/repo/vcdb.txt"] = ("redirect", elsewhere)
        refused("host_error", "redirects vcdb.txt to another host", repo.vcdb_text)
    server.rules["/repo/vcdb.txt"] = ("redirect", "/repo/vcdb.txt")
    server.asked.clear()
    refused("host_error", "redirects vcdb.txt more than 5 times", repo.vcdb_text)
    assert len(server.asked) == 6


def test_http_answers_other_than_200_are_refused(tmp_path, server):
    repo = HttpRepository(server.url, str(tmp_path))
    refused("no_image", "answered HTTP 404 for one/missing.xml", repo.description_text, "one/missing.xml")
    server.rules["/repo/vcdb.txt"] = ("status", 500)
    refused("host_error", "answered HTTP 500 for vcdb.txt", repo.vcdb_text)
    refused(
        "unreachable",
        "cannot be reached (ConnectionError)",
        HttpRepository("http://127.0.0.1:1/r", str(tmp_path)).vcdb_text,
    )


def test_a_download_interrupted_half_way_leaves_no_image(tmp_path, server):
    server.rules["/repo/one/frontend.vda.part1"] = ("truncate",)
    cache = tmp_path / "cache"
    found = vcluster_images.sync(HttpRepository(server.url, str(cache)), str(cache), names=["one"])
    assert found[0]["ok"] is False
    assert "one/frontend.vda.part1 at " in found[0]["error"]
    assert "stopped half-way" in found[0]["error"]
    assert leftovers(cache / "one") == []


def test_http_answers_are_bounded_in_bytes(tmp_path, server):
    repo = HttpRepository(server.url, str(tmp_path))
    server.files["/repo/vcdb.txt"] = b"#" * (1024 * 1024 + 1)
    server.rules["/repo/vcdb.txt"] = ("no-length",)
    refused("host_error", "vcdb.txt at", repo.vcdb_text)
    server.rules["/repo/vcdb.txt"] = ("serve",)
    refused("host_error", "is larger than 1048576 bytes (1048577)", repo.vcdb_text)
    refused(
        "host_error", "is larger than 1000 bytes", repo.open_part, "one/frontend.vda.part0", max_size=1000
    )
    assert not (tmp_path / ".repository" / "vcdb.txt").exists()


def test_each_request_has_a_timeout(tmp_path, server, monkeypatch):
    monkeypatch.setattr(vcluster_backends, "TIMEOUT", 0.2)
    server.rules["/repo/vcdb.txt"] = ("sleep", 1)
    started = time.monotonic()
    refused(
        "unreachable",
        "did not answer for vcdb.txt within 0.2 s",
        HttpRepository(server.url, str(tmp_path)).vcdb_text,
    )
    assert time.monotonic() - started < 0.9


def test_a_part_sent_with_a_content_encoding_is_read_decoded(tmp_path, server):
    server.rules["/repo/one/compute.vda"] = ("gzip-encoded",)
    with HttpRepository(server.url, str(tmp_path)).open_part("one/compute.vda") as stream:
        assert stream.read() == IMAGE[::-1]


def test_a_stream_that_ends_before_its_announced_length_is_refused():
    source = io.BytesIO(b"abc")
    stream = vcluster_backends.BoundedStream(source.read, 100, "the part", expected=10)
    assert stream.read(2) == b"ab"
    refused("unreachable", "reading the part stopped after 3 of 10 bytes", stream.read)
    whole = vcluster_backends.BoundedStream(io.BytesIO(b"abc").read, 100, "the part", expected=3)
    assert whole.read() == b"abc"


def test_a_source_that_gives_more_than_asked_is_passed_on_in_order():
    chunks = iter([b"abcdef", b"gh", b""])
    stream = vcluster_backends.BoundedStream(lambda n: next(chunks), 100, "the part")
    assert [stream.read(4), stream.read(4), stream.read(4), stream.read(4)] == [b"abcd", b"ef", b"gh", b""]
