"""
What the site's registry holds (issue 12): its catalog read from the master with the registry
v2 HTTP API (``GET /v2/_catalog``, ``GET /v2/<repository>/tags/list``), for the ``containers``
runner's ``registry``.

Everything is bounded: at most ``MAX_REPOSITORIES`` repositories and ``MAX_TAGS`` tags each,
``TIMEOUT`` seconds per request and ``DEADLINE`` for the whole read, ``MAX_BODY`` bytes per
answer, no redirects. A repository name or tag the registry sends is checked against Docker's
grammar before it goes into a URL path or a reference, and one that fails is left out. A
registry that cannot be read is not an exception: the answer's ``error`` says why, with what
was read before it.
"""

import json
import re
import time
import urllib.parse

import requests

from brine import container_spec

MAX_REPOSITORIES = 200
MAX_TAGS = 100
TIMEOUT = 5
DEADLINE = 30
MAX_BODY = 1024 * 1024
# Docker's grammar (distribution/reference), as brine.container_spec spells it.
REGISTRY_RE = re.compile(container_spec._DOMAIN)
REPOSITORY_RE = re.compile(rf"{container_spec._COMPONENT}(?:/{container_spec._COMPONENT})*")
# A tag in ASCII only: it goes into a reference and a URL.
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class _Unreadable(Exception):
    """Why one answer of the registry cannot be used (a sentence)."""


def registry_name(value):
    """``value`` when it is a registry's ``host[:port]``, else None."""
    if isinstance(value, str) and len(value) <= container_spec.REFERENCE_MAX and REGISTRY_RE.fullmatch(value):
        return value
    return None


def base_url(registry, url=None):
    """
    The registry's base URL: ``url`` (http or https, a host, no query, fragment or credentials)
    or ``https://<registry>``; None when it is not such a URL.
    """
    text = url if url not in (None, "") else f"https://{registry}"
    if not isinstance(text, str):
        return None
    try:
        parts = urllib.parse.urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return None
    if parts.username or parts.password or any(c.isspace() for c in text):
        return None
    return text.rstrip("/")


def _read(session, url, params, late):
    """
    The JSON object at ``url``, read within the bounds (``late()`` is true once the whole read
    has taken too long); ``_Unreadable`` saying why not.
    """
    try:
        with session.get(url, params=params, timeout=TIMEOUT, allow_redirects=False, stream=True) as answer:
            if answer.status_code == 401:
                raise _Unreadable("the registry asks for credentials (Brine reads an open catalog only)")
            if answer.status_code != 200:
                raise _Unreadable(f"the registry answered HTTP {answer.status_code}")
            body = b""
            for chunk in answer.iter_content(65536):
                body += chunk
                if len(body) > MAX_BODY:
                    raise _Unreadable(f"the registry's answer is larger than {MAX_BODY} bytes")
                if late():
                    raise _Unreadable(f"the registry took more than {DEADLINE} s to answer")
    except requests.RequestException as err:
        raise _Unreadable(f"the registry cannot be reached ({type(err).__name__})") from None
    try:
        data = json.loads(body)
    except ValueError:
        raise _Unreadable("the registry's answer is not JSON") from None
    if not isinstance(data, dict):
        raise _Unreadable("the registry's answer is not a JSON object")
    return data


def _names(values, pattern, most):
    """The valid names among ``values`` (a list, else none), sorted, at most ``most``."""
    if not isinstance(values, list):
        return []
    return sorted({v for v in values if isinstance(v, str) and pattern.fullmatch(v)})[:most]


def catalog(registry, url=None, session=None, clock=time.monotonic):
    """
    ``{"registry", "images": [{"ref", "repository", "tag"}], "error": None | sentence}``: every
    tag of every repository in ``registry`` (``host:port``, the name references use), read at
    ``url`` (default ``https://<registry>``). No registry configured: no images and no error.
    """
    found = {"registry": registry or None, "images": [], "error": None}
    if registry in (None, ""):
        return found
    if registry_name(registry) is None:
        found.update(registry=None, error="brine:containers:registry is not a registry's host[:port]")
        return found
    base = base_url(registry, url)
    if base is None:
        found["error"] = "brine:containers:registry_url is not an http or https URL of the registry"
        return found
    deadline = clock() + DEADLINE

    def late():
        return clock() > deadline

    own = session is None
    session = requests.Session() if own else session
    try:
        listed = _read(session, f"{base}/v2/_catalog", {"n": MAX_REPOSITORIES}, late)
        for repository in _names(listed.get("repositories"), REPOSITORY_RE, MAX_REPOSITORIES):
            if late():
                raise _Unreadable(f"the registry took more than {DEADLINE} s to list its tags")
            path = urllib.parse.quote(repository, safe="/")
            tags = _read(session, f"{base}/v2/{path}/tags/list", {"n": MAX_TAGS}, late).get("tags")
            found["images"] += [
                {"ref": f"{registry}/{repository}:{tag}", "repository": repository, "tag": tag}
                for tag in _names(tags, TAG_RE, MAX_TAGS)
            ]
    except _Unreadable as why:
        found["error"] = f"could not read the catalog of {registry} at {base}: {why}"
    finally:
        if own:
            session.close()
    return found
