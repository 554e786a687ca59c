"""
Unit tests of ``brine.container_registry``: the site registry's catalog read with the registry
v2 HTTP API from a small HTTP server on loopback (what it serves is set per test), bounded in
repositories, tags, time, size and redirects; names checked before they go into a URL.
"""

import http.server
import json
import threading
import time
import urllib.parse

import pytest

from brine import container_registry

REGISTRY = "brine-master:5000"


class Registry(http.server.BaseHTTPRequestHandler):
    """Answers from the server's ``routes``: path -> (status, body bytes or JSON data)."""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        self.server.asked.append((url.path, urllib.parse.parse_qs(url.query)))
        status, body = self.server.routes.get(url.path, (404, {"errors": []}))
        if callable(body):
            body = body()
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", "http://127.0.0.1:1/v2/_catalog")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def registry():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    server.routes, server.asked = {}, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def serve(server, repositories):
    """The catalog and each repository's tags."""
    server.routes["/v2/_catalog"] = (200, {"repositories": list(repositories)})
    for repository, tags in repositories.items():
        server.routes[f"/v2/{repository}/tags/list"] = (200, {"name": repository, "tags": tags})


def test_every_tag_of_every_repository_is_an_image_of_the_registry(registry):
    serve(registry, {"brine/web": ["1", "2"], "brine/hello": ["1"], "empty": None})
    found = container_registry.catalog(REGISTRY, registry.url)
    assert found == {
        "registry": REGISTRY,
        "images": [
            {"ref": "brine-master:5000/brine/hello:1", "repository": "brine/hello", "tag": "1"},
            {"ref": "brine-master:5000/brine/web:1", "repository": "brine/web", "tag": "1"},
            {"ref": "brine-master:5000/brine/web:2", "repository": "brine/web", "tag": "2"},
        ],
        "error": None,
    }
    assert registry.asked[0] == ("/v2/_catalog", {"n": ["200"]})
    assert ("/v2/brine/web/tags/list", {"n": ["100"]}) in registry.asked


def test_names_that_are_not_dockers_are_left_out_before_they_reach_a_url(registry):
    serve(
        registry,
        {"good": ["1", "bad tag", "-x", "ü", "../1", 7], "../etc": ["1"], "UPPER": ["1"], "a?b": ["1"]},
    )
    registry.routes["/v2/_catalog"] = (200, {"repositories": ["good", "../etc", "UPPER", "a?b", 5, None]})
    found = container_registry.catalog(REGISTRY, registry.url)
    assert [image["ref"] for image in found["images"]] == ["brine-master:5000/good:1"]
    assert [path for path, _query in registry.asked] == ["/v2/_catalog", "/v2/good/tags/list"]


def test_at_most_200_repositories_and_100_tags_each_are_read(registry):
    repositories = {f"r{index:03}": [f"t{tag:03}" for tag in range(150)] for index in range(250)}
    serve(registry, repositories)
    found = container_registry.catalog(REGISTRY, registry.url)
    assert found["error"] is None
    assert len(registry.asked) == 1 + 200
    assert len(found["images"]) == 200 * 100
    assert found["images"][-1]["ref"] == "brine-master:5000/r199:t099"


@pytest.mark.parametrize(
    ("route", "words"),
    [
        ((401, {"errors": []}), "the registry asks for credentials"),
        ((500, b"oops"), "the registry answered HTTP 500"),
        ((302, b""), "the registry answered HTTP 302"),
        ((200, b"<html>"), "the registry's answer is not JSON"),
        ((200, [1, 2]), "the registry's answer is not a JSON object"),
        ((200, b" " * (container_registry.MAX_BODY + 1)), "larger than 1048576 bytes"),
    ],
)
def test_a_catalog_brine_cannot_read_is_an_error_sentence(registry, route, words):
    registry.routes["/v2/_catalog"] = route
    found = container_registry.catalog(REGISTRY, registry.url)
    assert found["images"] == []
    assert found["error"].startswith(f"could not read the catalog of {REGISTRY} at {registry.url}: ")
    assert words in found["error"]
    assert len(registry.asked) == 1  # a redirect is not followed


def test_what_was_read_before_a_failure_is_kept(registry):
    serve(registry, {"a": ["1"], "b": ["1"]})
    registry.routes["/v2/b/tags/list"] = (500, b"")
    found = container_registry.catalog(REGISTRY, registry.url)
    assert [image["ref"] for image in found["images"]] == ["brine-master:5000/a:1"]
    assert "HTTP 500" in found["error"]


def test_a_registry_nobody_answers_at_is_unreachable():
    found = container_registry.catalog(REGISTRY, "http://127.0.0.1:1")
    assert found["error"] == (
        f"could not read the catalog of {REGISTRY} at http://127.0.0.1:1: "
        "the registry cannot be reached (ConnectionError)"
    )


def test_each_request_has_a_timeout(registry, monkeypatch):
    monkeypatch.setattr(container_registry, "TIMEOUT", 0.2)
    registry.routes["/v2/_catalog"] = (200, lambda: time.sleep(1) or {"repositories": []})
    started = time.monotonic()
    found = container_registry.catalog(REGISTRY, registry.url)
    assert time.monotonic() - started < 0.9
    assert "the registry cannot be reached (ReadTimeout)" in found["error"]


class Session:
    """A requests session answering every tags list at once; records each call's options."""

    def __init__(self):
        self.calls = []

    def get(self, url, **options):
        self.calls.append((url, options))
        repositories = [f"r{index}" for index in range(5)]
        return Answer({"repositories": repositories} if url.endswith("_catalog") else {"tags": ["1"]})


class Answer:
    status_code = 200

    def __init__(self, data):
        self.body = json.dumps(data).encode()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False

    def iter_content(self, size):
        yield self.body


def test_requests_are_bounded_in_time_and_never_redirected():
    session = Session()
    container_registry.catalog(REGISTRY, "https://registry.example:5000/", session=session)
    assert session.calls[0] == (
        "https://registry.example:5000/v2/_catalog",
        {"params": {"n": 200}, "timeout": 5, "allow_redirects": False, "stream": True},
    )
    assert all(options["timeout"] == 5 and not options["allow_redirects"] for _url, options in session.calls)


def test_the_whole_read_has_a_deadline():
    ticks = iter([0, 1, 2, 3, 31, 32, 33, 34])
    found = container_registry.catalog(
        REGISTRY, "https://r.example", session=Session(), clock=lambda: next(ticks)
    )
    assert [image["repository"] for image in found["images"]] == ["r0"]
    assert "took more than 30 s" in found["error"]


def test_without_a_registry_there_is_nothing_to_read():
    assert container_registry.catalog(None) == {"registry": None, "images": [], "error": None}
    assert container_registry.catalog("") == {"registry": None, "images": [], "error": None}


def test_the_default_url_is_https_on_the_registry():
    session = Session()
    container_registry.catalog(REGISTRY, None, session=session)
    assert session.calls[0][0] == "https://brine-master:5000/v2/_catalog"


@pytest.mark.parametrize("registry_name", ["brine master:5000", "a/b", "http://x", "x:port", 5])
def test_a_registry_that_is_not_a_host_and_port_is_an_error(registry_name):
    found = container_registry.catalog(registry_name, None, session=Session())
    assert found["error"] == "brine:containers:registry is not a registry's host[:port]"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://r.example",
        "https://user:pw@r.example",
        "https://r.example/?x=1",
        "https://r.example/#x",
        "https://",
        "https://r.example:99999",
        "https://r .example",
        "r.example:5000",
    ],
)
def test_a_registry_url_that_is_not_an_http_url_is_an_error(url):
    session = Session()
    found = container_registry.catalog(REGISTRY, url, session=session)
    assert found["error"] == "brine:containers:registry_url is not an http or https URL of the registry"
    assert session.calls == []
