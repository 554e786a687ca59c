"""
A virtual cluster's images assembled from its repository into Brine's cache (issue 13), and a
whole repository synchronised.

``assemble`` reads an image's parts in order from a backend (``brine.vcluster_backends``),
gunzips them when the ``<file>`` type says so (streamed, the output bounded), writes them to
``<cluster folder>/<filename>.partial`` while computing the sha256, and renames the partial
file to its final name only when the sha256 is the one the description gives (and a qcow2
image starts with qcow2's magic). Any failure removes the partial file: a half-read, corrupt or
interrupted image never becomes one Brine would stage. An image already in the cache with the
right sha256 is used as it is.

``sync`` does that for every cluster of a repository (or those named), one cluster's failure
reported in its entry without stopping the others.
"""

import gzip
import hashlib
import io
import os
import posixpath
import stat
import zlib

from brine import vcluster_backends
from brine import vcluster_repo
from brine.errors import Invalid
from brine.errors import Refused

MAX_IMAGE = vcluster_backends.MAX_IMAGE
CHUNK = 1024 * 1024
QCOW2_MAGIC = b"QFI\xfb"
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def cache_root(cache_folder):
    """``cache_folder`` as an absolute path, when it can be one."""
    if not isinstance(cache_folder, str | os.PathLike) or not str(cache_folder) or "\0" in str(cache_folder):
        raise Invalid(f"cache_folder {cache_folder!r} is not a folder")
    return os.path.abspath(cache_folder)


def cluster_folder(cache_folder, name):
    """``<cache_folder>/<name>``: where a cluster's assembled images live."""
    return os.path.join(cache_root(cache_folder), vcluster_repo.cluster_name(name))


class _Parts(io.RawIOBase):
    """The parts of one image read one after the other as one stream, at most ``limit`` bytes in all."""

    def __init__(self, repo, paths, limit):
        super().__init__()
        self._repo, self._paths, self._limit = repo, list(paths), limit
        self._current, self.count = None, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        while True:
            if self._current is None:
                if not self._paths:
                    return 0
                self._current = self._repo.open_part(self._paths.pop(0), max_size=self._limit)
            read = self._current.readinto(buffer)
            if read:
                self.count += read
                if self.count > self._limit:
                    raise Refused("host_error", f"the parts are larger than {self._limit} bytes in all")
                return read
            self._current.close()
            self._current = None

    def close(self):
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


def _target(folder, filename):
    """The image's final path in ``folder`` (created), refused if it would resolve outside it."""
    try:
        os.makedirs(folder, mode=0o755, exist_ok=True)
        real = os.path.realpath(folder)
        path = os.path.join(real, filename)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    except OSError as err:
        raise Refused(
            "internal", f"cannot make the cache folder for {filename} in {folder} ({err.strerror})"
        ) from None
    if os.path.commonpath([real, os.path.realpath(os.path.dirname(path))]) != real or os.path.islink(path):
        raise Invalid(f"the image {filename} would be written outside the cache folder {real}")
    return path


def _sha256_of(path, limit):
    """The sha256 of a regular file of at most ``limit`` bytes, or None."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def _remove(path, quiet=False):
    """``path`` removed if it is there; a failure is refused (or ignored when ``quiet``)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        if not quiet:
            raise Refused("internal", f"cannot remove {path} from the cache ({err.strerror})") from None


def _copy(source, out, limit, what):
    """``source`` written to ``out``: ``(sha256, size, first 4 bytes)``, the size bounded."""
    digest, size, head = hashlib.sha256(), 0, b""
    while True:
        try:
            chunk = source.read(CHUNK)
        except _GZIP_ERRORS as err:
            raise Refused("host_error", f"{what} is not a whole gzip stream ({err})") from None
        if not chunk:
            return digest.hexdigest(), size, head
        size += len(chunk)
        if size > limit:
            raise Refused("host_error", f"{what} is larger than {limit} bytes once assembled")
        head += chunk[: max(0, 4 - len(head))]
        digest.update(chunk)
        try:
            out.write(chunk)
        except OSError as err:
            raise Refused("internal", f"cannot write {what} to the cache ({err.strerror})") from None


def _verify(entry, digest, size, head, what):
    if size == 0:
        raise Refused("host_error", f"{what} is empty once assembled")
    if digest != entry["sha256"]:
        raise Refused("host_error", f"{what} has sha256 {digest}, but its description says {entry['sha256']}")
    if entry["format"] == "qcow2" and head != QCOW2_MAGIC:
        raise Refused("host_error", f"{what} is described as qcow2 but does not start with qcow2's magic")


def _write(repo, paths, entry, partial, limit, what):
    """The image assembled into ``partial`` and checked (the caller removes it on failure)."""
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError as err:
        raise Refused("internal", f"cannot create {partial} ({err.strerror})") from None
    with os.fdopen(fd, "wb") as out, _Parts(repo, paths, limit) as parts:
        source = (
            gzip.GzipFile(fileobj=parts, mode="rb") if entry["type"] in vcluster_repo.GZIP_TYPES else parts
        )
        with source:
            digest, size, head = _copy(source, out, limit, what)
        try:
            out.flush()
            os.fsync(out.fileno())
        except OSError as err:
            raise Refused("internal", f"cannot write {what} to the cache ({err.strerror})") from None
    _verify(entry, digest, size, head, what)


def assemble(repo, description_dir, file_entry, cache_folder, max_size=MAX_IMAGE):
    """
    The path of the image ``file_entry`` describes (``{filename, type, parts, sha256,
    format}``, as ``brine.vcluster_repo.parse_description`` gives it), assembled in
    ``cache_folder`` (the cluster's folder in the cache: ``cluster_folder(cache, name)``) from
    the parts below ``description_dir`` (the description's folder in ``repo``; '' for the
    repository's top) and at most ``max_size`` bytes, read and written. Nothing but a checked
    image is ever left under the final name; an image there already with the right sha256 is
    not read again.
    """
    entry = vcluster_repo.file_entry(file_entry)
    if description_dir not in ("", None):
        vcluster_repo.relative_path(description_dir, "description_dir")
    limit = vcluster_backends.size_limit(max_size)
    target = _target(cache_folder, entry["filename"])
    if _sha256_of(target, limit) == entry["sha256"]:
        return target
    _remove(target)  # a stale or corrupt copy is not kept beside the new one
    paths = [posixpath.join(description_dir or "", part) for part in entry["parts"]]
    what = f"the image {entry['filename']} from {getattr(repo, 'where', 'the repository')}"
    partial = target + ".partial"
    _remove(partial)
    try:
        _write(repo, paths, entry, partial, limit, what)
        os.replace(partial, target)
    except BaseException:
        _remove(partial, quiet=True)
        raise
    return target


def _wanted(clusters, names):
    """The vcdb entries ``names`` asks for (all when None), in the repository's order."""
    if names is None:
        return clusters
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | tuple) or len(names) > vcluster_repo.MAX_VCDB_LINES:
        raise Invalid(f"names must be a list of at most {vcluster_repo.MAX_VCDB_LINES} cluster names")
    names = {vcluster_repo.cluster_name(name, "names") for name in names}
    unknown = sorted(names - {cluster["name"] for cluster in clusters})
    if unknown:
        raise Invalid(f"names: the repository has no cluster {', '.join(unknown)}")
    return [cluster for cluster in clusters if cluster["name"] in names]


def sync_cluster(repo, cluster, cache_folder, max_size=MAX_IMAGE):
    """One vcdb entry's images assembled: ``{"name", "ok", "error", "images": [paths]}``."""
    found = {"name": cluster["name"], "ok": False, "error": None, "images": []}
    try:
        description = vcluster_repo.parse_description(repo.description_text(cluster["path"]), cluster["name"])
        folder = cluster_folder(cache_folder, cluster["name"])
        description_dir = posixpath.dirname(cluster["path"])
        for entry in description["files"]:
            found["images"].append(assemble(repo, description_dir, entry, folder, max_size))
    except (Invalid, Refused) as why:
        found["error"] = why.sentence
        return found
    found["ok"] = True
    return found


def sync(repo, cache_folder, names=None, max_size=MAX_IMAGE):
    """
    Every cluster of ``repo`` (or those ``names`` lists) with its images assembled into
    ``<cache_folder>/<name>/``: ``[{"name", "ok", "error", "images": [paths]}]``. A cluster that
    fails says why in its entry and the others go on; a repository whose ``vcdb.txt`` cannot be
    read, or a name it does not list, is refused before any image is read.
    """
    cache_root(cache_folder)
    vcluster_backends.size_limit(max_size)
    clusters = _wanted(vcluster_repo.parse_vcdb(repo.vcdb_text()), names)
    return [sync_cluster(repo, cluster, cache_folder, max_size) for cluster in clusters]
