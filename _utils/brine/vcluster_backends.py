"""
Where a virtual cluster image repository is read from (issue 13): a local folder
(``LocalRepository``) or an http(s) URL (``HttpRepository``), one interface for both:
``vcdb_text()``, ``description_text(path)`` and ``open_part(path, max_size)`` (a binary stream
that refuses to give more than ``max_size`` bytes).

Every path is checked by ``brine.vcluster_repo.relative_path`` first. The local folder resolves
each path with ``os.path.realpath`` and refuses what lies outside the folder (a symlink pointing
out of it included). The http one takes only ``http``/``https`` URLs without credentials, query
or fragment, percent-encodes each part of a path below the URL's own, gives every request a
timeout, bounds every answer (texts ``MAX_TEXT``, parts ``max_size``), streams parts, and
follows at most ``MAX_REDIRECTS`` redirects, to the same scheme, host and port only. The texts it
reads are kept in ``<cache_folder>/.repository/`` (written atomically), a copy a
``LocalRepository`` can read while the repository is away.
"""

import io
import os
import tempfile
import urllib.parse

import requests
import urllib3

from brine import vcluster_repo
from brine.errors import Invalid
from brine.errors import Refused

MAX_TEXT = vcluster_repo.MAX_TEXT
MAX_IMAGE = 64 * 1024**3
MAX_URL = 2048
TIMEOUT = 30
MAX_REDIRECTS = 5
CHUNK = 1024 * 1024
MIRROR = ".repository"
_STREAM_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError, OSError)


def size_limit(max_size):
    """``max_size`` when it is a whole number of bytes from 1 to ``MAX_IMAGE``, else ``Invalid``."""
    if isinstance(max_size, bool) or not isinstance(max_size, int) or not 1 <= max_size <= MAX_IMAGE:
        raise Invalid(f"max_size {max_size!r} must be a whole number of bytes from 1 to {MAX_IMAGE}")
    return max_size


class BoundedStream(io.RawIOBase):
    """
    A readable binary stream over ``read(n)`` of another that refuses to pass more than
    ``limit`` bytes, and (when ``expected`` is given) refuses to end before that many. Errors of
    the source become ``Refused('unreachable')`` naming ``what``.
    """

    def __init__(self, source, limit, what, expected=None, close=None):
        super().__init__()
        self._source, self._limit, self._what = source, limit, what
        self._expected, self._close, self.count, self._pending = expected, close, 0, b""

    def readable(self):
        return True

    def _fill(self, size):
        """The source's next bytes (``b""`` at its end), counted and checked."""
        try:
            data = self._source(min(size, self._limit + 1 - self.count))
        except _STREAM_ERRORS as err:
            raise Refused(
                "unreachable", f"reading {self._what} stopped half-way ({type(err).__name__})"
            ) from None
        self.count += len(data)
        if self.count > self._limit:
            raise Refused("host_error", f"{self._what} is larger than {self._limit} bytes")
        if not data and self._expected is not None and self.count != self._expected:
            raise Refused(
                "unreachable", f"reading {self._what} stopped after {self.count} of {self._expected} bytes"
            )
        return data

    def readinto(self, buffer):
        if not len(buffer):
            return 0
        if not self._pending:
            self._pending = self._fill(len(buffer))
        data, self._pending = self._pending[: len(buffer)], self._pending[len(buffer) :]
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        if not self.closed and self._close is not None:
            self._close()
        super().close()


def _text(stream, what):
    with stream:
        data = stream.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"{what} is not UTF-8 text") from None


class LocalRepository:
    """A repository in a local folder; every path read must resolve inside it."""

    def __init__(self, folder):
        if not isinstance(folder, str | os.PathLike) or not os.path.isdir(folder):
            raise Invalid(f"folder {folder!r} is not a directory")
        self.folder = os.path.realpath(folder)
        self.where = self.folder

    def _resolve(self, relative, what):
        relative = vcluster_repo.relative_path(relative, what)
        real = os.path.realpath(os.path.join(self.folder, relative))
        if os.path.commonpath([self.folder, real]) != self.folder:
            raise Invalid(f"{what} {relative!r} points outside the repository {self.folder}")
        if not os.path.isfile(real):
            raise Refused("no_image", f"the repository {self.folder} has no file {relative}")
        return real

    def _open(self, relative, max_size, what):
        real = self._resolve(relative, what)
        try:
            handle = open(os.open(real, os.O_RDONLY | os.O_NOFOLLOW), "rb", buffering=0)
        except OSError as err:
            raise Refused(
                "no_image", f"{relative} in {self.folder} cannot be read ({err.strerror})"
            ) from None
        return BoundedStream(handle.read, max_size, f"{relative} in {self.folder}", close=handle.close)

    def vcdb_text(self):
        return _text(self._open("vcdb.txt", MAX_TEXT, "vcdb.txt"), "vcdb.txt")

    def description_text(self, path):
        return _text(self._open(path, MAX_TEXT, "the description path"), f"the description {path}")

    def open_part(self, relative_path, max_size=MAX_IMAGE):
        return self._open(relative_path, size_limit(max_size), "the image part")


def base_url(url):
    """``url`` with a trailing '/' when it is an http(s) URL Brine reads; else ``Invalid``."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise Invalid(f"url {url!r} is not an http or https URL of at most {MAX_URL} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise Invalid(f"url {url!r} holds a space or a control character")
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        raise Invalid(f"url {url!r} is not a URL") from None
    if parts.scheme not in ("http", "https"):
        raise Invalid(f"url {url!r} is not http or https: Brine reads repositories over http(s) only")
    if not parts.hostname:
        raise Invalid(f"url {url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"url {url!r} carries credentials: Brine reads open repositories only")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise Invalid(f"url {url!r} has a query or fragment: give the repository's folder only")
    return url if url.endswith("/") else url + "/"


def _origin(url):
    """``(scheme, host, port)`` of an http(s) URL; None for any other."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    return (parts.scheme, parts.hostname, port) if port and parts.hostname else None


class HttpRepository:
    """A repository at an http(s) URL; what it reads of texts is kept under ``cache_folder``."""

    def __init__(self, url, cache_folder, session=None):
        self.url = base_url(url)
        if (
            not isinstance(cache_folder, str | os.PathLike)
            or not str(cache_folder)
            or "\0" in str(cache_folder)
        ):
            raise Invalid(f"cache_folder {cache_folder!r} is not a folder")
        self.mirror = os.path.join(os.path.abspath(cache_folder), MIRROR)
        self.session = session if session is not None else requests.Session()
        self.where = self.url

    def close(self):
        self.session.close()

    def url_of(self, relative, what="the path"):
        """The URL of ``relative`` below the repository's: each part checked, then percent-encoded."""
        relative = vcluster_repo.relative_path(relative, what)
        return self.url + "/".join(urllib.parse.quote(part, safe="") for part in relative.split("/"))

    def _get(self, url, relative):
        """The answer to GET ``url`` (streamed), after redirects within the same origin only."""
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                answer = self.session.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True)
            except requests.Timeout:
                raise Refused(
                    "unreachable", f"{self.url} did not answer for {relative} within {TIMEOUT} s"
                ) from None
            except requests.RequestException as err:
                raise Refused("unreachable", f"{self.url} cannot be reached ({type(err).__name__})") from None
            if answer.status_code not in (301, 302, 303, 307, 308):
                return answer
            answer.close()
            target = urllib.parse.urljoin(url, answer.headers.get("Location", ""))
            if _origin(target) is None or _origin(target) != _origin(url):
                raise Refused(
                    "host_error",
                    f"{self.url} redirects {relative} to another host, which Brine does not follow",
                )
            url = target
        raise Refused("host_error", f"{self.url} redirects {relative} more than {MAX_REDIRECTS} times")

    def _open(self, relative, max_size, what):
        answer = self._get(self.url_of(relative, what), relative)
        if answer.status_code != 200:
            answer.close()
            code = "no_image" if answer.status_code in (403, 404, 410) else "host_error"
            raise Refused(code, f"{self.url} answered HTTP {answer.status_code} for {relative}")
        length = answer.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() and len(length) <= 19 else None
        if expected is not None and expected > max_size:
            answer.close()
            raise Refused(
                "host_error", f"{relative} at {self.url} is larger than {max_size} bytes ({expected})"
            )
        if answer.headers.get("Content-Encoding", "identity") != "identity":
            expected = None  # the length counts the encoded bytes
        raw = answer.raw
        return BoundedStream(
            lambda n: raw.read(n, decode_content=True),
            max_size,
            f"{relative} at {self.url}",
            expected=expected,
            close=answer.close,
        )

    def _keep(self, relative, text):
        """A copy of ``text`` at ``<mirror>/<relative>``, replaced atomically."""
        path = os.path.join(self.mirror, relative)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".", suffix=".partial")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(partial, 0o644)
            os.replace(partial, path)
        except BaseException:
            os.unlink(partial)
            raise

    def _read_text(self, relative, what):
        text = _text(self._open(relative, MAX_TEXT, what), f"{relative} at {self.url}")
        try:
            self._keep(relative, text)
        except OSError as err:
            raise Refused(
                "internal", f"could not keep a copy of {relative} in {self.mirror} ({err.strerror})"
            ) from None
        return text

    def vcdb_text(self):
        return self._read_text("vcdb.txt", "vcdb.txt")

    def description_text(self, path):
        return self._read_text(path, "the description path")

    def open_part(self, relative_path, max_size=MAX_IMAGE):
        return self._open(relative_path, size_limit(max_size), "the image part")
