"""
The master's side of containers (issue 12, docs/containers.md): the hosts' answers to the
``containers`` host module as the ``containers`` runner's entries, local images merged across
hosts by id, where a new container runs, its default name, and a run's arguments checked (all
of them before any host is asked) with the environment assembled from plain and sealed values.

A host's error is ``(code, sentence)`` as ``brine.fanout`` reads it. Nothing here talks to a
host or reads a key: the runner passes the answers in, and a callable that opens the browser's
sealed values with the master's key. Nothing here ever puts an environment value in a sentence:
it may be a secret.
"""

import json
import re

from brine import container_spec
from brine import fanout
from brine import sealed
from brine import validate
from brine.errors import Invalid
from brine.errors import Refused

ENGINE_STATES = fanout.ENGINE_STATES
# Seconds a host may take beyond the inventory timeout: a stop or restart waits for the
# container's process (Docker's default grace is 10 s); a run may pull its image first (the
# host module's pull is bounded by 300 s) and, not detached, waits for the container to end.
ACTION_WAIT = 30
PULL_WAIT = 300
# A run that is not detached waits this long by default, and at most RUN_TIMEOUT_MAX (the host
# module's bounds).
RUN_TIMEOUT_DEFAULT = 60
RUN_TIMEOUT_MAX = 600
# Lines of a container's log: at most this many (the host module's bound).
TAIL_MAX = 10000
TAIL_DEFAULT = 100
# Docker's short image ids, and a full one.
IMAGE_ID_RE = re.compile(r"[0-9a-f]{12}|[0-9a-f]{64}")


# ---- The hosts' answers.


def engine_shape(ret):
    return isinstance(ret, dict) and ret.get("state") in ENGINE_STATES


def containers_shape(ret):
    return isinstance(ret, list) and all(isinstance(c, dict) and isinstance(c.get("name"), str) for c in ret)


def images_shape(ret):
    return isinstance(ret, list) and all(
        isinstance(i, dict) and isinstance(i.get("id"), str) and isinstance(i.get("tags"), list) for i in ret
    )


def answers(expected, entries, fun, wait, shape, asked=()):
    """
    ``{host: (ret, error)}`` from what ``fanout.gather`` returned, for every host the master
    expected, any other that answered and every host ``asked`` by name (one the master does not
    know never answers): ``error`` is ``(code, sentence)`` when the host did not answer
    (``unreachable``), refused (its code), or answered something ``shape`` does not accept
    (``host_error``).
    """
    found = {}
    for host in sorted(set(expected) | set(entries) | set(asked)):
        entry = entries.get(host)
        if not fanout.answered(entry):
            found[host] = (None, ("unreachable", fanout.no_answer(wait)))
            continue
        error = fanout.host_error(entry, fun)
        if error is None and not shape(entry["ret"]):
            error = ("host_error", f"answered {fun} with data Brine does not understand")
        found[host] = (None, error) if error else (entry["ret"], None)
    return found


def _error(error):
    return None if error is None else {"code": error[0], "message": error[1]}


def listing(engines, lists):
    """
    ``{"hosts": [{"host", "answered", "error", "docker", "containers"}]}`` from every host's
    engine (``{host: (engine, error)}``) and the container lists of the hosts whose engine is up
    (``{host: (containers, error)}``). A host without an engine, or whose engine is down, answered:
    its ``docker`` says so and it has no containers. Each container names its host.
    """
    hosts = []
    for host, (engine, error) in sorted(engines.items()):
        found = {"host": host, "answered": error is None, "error": _error(error), "docker": engine}
        found["containers"] = []
        if error is None and engine["state"] == "up":
            containers, listed_error = lists.get(host, (None, ("unreachable", "was not asked for its list")))
            if listed_error:
                found.update(answered=False, error=_error(listed_error))
            else:
                found["containers"] = [dict(item, host=host) for item in containers]
        hosts.append(found)
    return {"hosts": hosts}


def merged_images(images):
    """
    ``{"images": [image dict + "hosts"], "hosts": [{"host", "answered", "error"}]}`` from
    ``{host: ([image dict], error)}``: one entry per image id, its tags the union of what each
    host calls it (in the order first seen), ``ref`` the first of them (else ``<none>``),
    ``hosts`` the hosts that have it; sorted by ref, then id, untagged images last.
    """
    by_id = {}
    for host, (found, error) in sorted(images.items()):
        if error:
            continue
        for image in found:
            merged = by_id.setdefault(image["id"], dict(image, tags=[], hosts=[]))
            merged["tags"] += [tag for tag in image["tags"] if tag not in merged["tags"]]
            if host not in merged["hosts"]:
                merged["hosts"].append(host)
    merged = [dict(image, ref=image["tags"][0] if image["tags"] else "<none>") for image in by_id.values()]
    return {
        "images": sorted(merged, key=lambda image: (not image["tags"], image["ref"], image["id"])),
        "hosts": [
            {"host": host, "answered": error is None, "error": _error(error)}
            for host, (_found, error) in sorted(images.items())
        ],
    }


# ---- Where a container runs.


def local_names(image, registry=None):
    """
    The tags under which a host that has ``image`` lists it: the reference itself, and for a
    reference without a registry (``brine/web:1``) also ``<registry>/brine/web:1`` (the
    contract's search in the site's registry). Empty for a digest: image lists carry no digests.
    """
    parsed = container_spec.image(image)
    if parsed["digest"]:
        return set()
    tagged = f"{parsed['repository']}:{parsed['tag']}"
    names = {tagged, container_spec.qualified(tagged, registry)}
    if container_spec.domain(image) in ("docker.io", "index.docker.io"):
        # Docker lists Docker Hub's images without its domain (and without library/).
        rest = tagged.split("/", 1)[1]
        names.add(rest.removeprefix("library/"))
    return names


def has_image(images, image, registry=None):
    """True when one of ``images`` (a host's image dicts) is ``image`` by tag or by id."""
    names = local_names(image, registry)
    by_id = image if IMAGE_ID_RE.fullmatch(image) else None
    return any(names & set(found["tags"]) or (by_id and found["id"] == by_id[:12]) for found in images)


def _running(containers):
    return sum(1 for item in containers if item.get("state") == "running")


def _plural(count, word):
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def place(image, lists, images, registry=None):
    """
    ``(host, why)``: the host a new container of ``image`` runs on, from every host's containers
    (``{host: (containers, error)}``; a host that listed them has its engine up) and the images
    of those hosts (``{host: (images, error)}``). A host that has the image, running the fewest
    containers; else any host with an engine up (it pulls the image), running the fewest; ties
    go to the first by name. Refused ``no_room`` with every host's reason when none can.
    """
    reasons, up = {}, {}
    for host, (containers, error) in sorted(lists.items()):
        found, images_error = images.get(host, (None, ("unreachable", "was not asked for its images")))
        if error or images_error:
            reasons[host] = (error or images_error)[1]
        else:
            up[host] = (_running(containers), found)
    if not up:
        why = "; ".join(f"{host}: {reason}" for host, reason in reasons.items()) or "there are no hosts"
        raise Refused("no_room", f"no host has a Docker engine that can run {image} ({why})")
    having = sorted(host for host, (_count, found) in up.items() if has_image(found, image, registry))
    pool = having or sorted(up)
    chosen = min(pool, key=lambda host: (up[host][0], host))
    runs = f"runs {_plural(up[chosen][0], 'container')}"
    if having:
        return (
            chosen,
            f"{chosen} has {image} and {runs}, the fewest of the hosts that have it ({', '.join(having)})",
        )
    return chosen, (
        f"no host has {image}: {chosen} has a Docker engine up and {runs}, the fewest of the hosts "
        f"with one ({', '.join(pool)}); it pulls the image"
    )


# ---- A run's arguments.


def _ports(ports):
    # One mapping from a shell (ports=8080:80) is a list of one.
    return container_spec.ports([ports] if isinstance(ports, str) and ports else ports)


def _restart(restart):
    policy = container_spec.restart_policy(restart)
    if policy["name"] == "on-failure" and policy["max_retries"]:
        return f"on-failure:{policy['max_retries']}"
    return policy["name"]


def run_timeout(timeout):
    """``timeout`` as seconds from 1 to ``RUN_TIMEOUT_MAX``, or None (the host's default)."""
    if timeout in (None, ""):
        return None
    seconds = validate.seconds(timeout, "timeout", maximum=RUN_TIMEOUT_MAX)
    if seconds < 1:
        raise Invalid(f"timeout must be from 1 to {RUN_TIMEOUT_MAX} seconds, not {timeout!r}")
    return seconds


def tail(value):
    """Lines of log, from 1 to ``TAIL_MAX`` (``TAIL_DEFAULT`` when not given)."""
    lines = validate.positive_int(value, "tail", "lines", maximum=TAIL_MAX)
    return TAIL_DEFAULT if lines is None else lines


def run_arguments(image, name=None, ports=None, restart=None, detach=True, timeout=None):
    """
    The host's ``containers.run`` arguments (without the environment), every one checked:
    ``{"image", "name", "ports", "restart", "detach"}`` and ``timeout`` when given. A missing
    name becomes ``container_spec.default_name(image)`` (``web-3fa2``).
    """
    ref = container_spec.image(image)["ref"]
    kwarg = {
        "image": ref,
        "name": container_spec.default_name(ref) if name in (None, "") else container_spec.name(name),
        "ports": _ports(ports),
        "restart": _restart(restart),
        "detach": validate.flag(detach, "detach"),
    }
    seconds = run_timeout(timeout)
    if seconds is not None:
        kwarg["timeout"] = seconds
    return kwarg


def run_wait(kwarg, inventory_timeout):
    """Seconds the runner waits for a host's answer to ``containers.run(**kwarg)``."""
    waited = 0 if kwarg["detach"] else kwarg.get("timeout", RUN_TIMEOUT_DEFAULT)
    return inventory_timeout + PULL_WAIT + waited


def environment(plain=None, secret=None, unwrap=None):
    """
    The container's environment ``{KEY: value}``: ``plain`` (a mapping or ``["KEY=value"]``)
    and ``secret`` (``{KEY: base64 RSA-OAEP}``, each opened with ``unwrap(text, argument)``),
    checked together by ``container_spec.environment``. A key in both is refused. Sentences name
    keys, never values.
    """
    checked = container_spec.environment(plain)
    if secret in (None, ""):
        return checked
    if not isinstance(secret, dict):
        raise Invalid(
            "secret_environment must be a mapping of KEY to a value sealed to provision.sealing_key"
        )
    # Keys and their number are checked before any value is opened.
    container_spec.environment(dict.fromkeys(secret, ""))
    both = sorted(set(checked) & set(secret))
    if both:
        raise Invalid(f"environment variable {both[0]} is in both environment and secret_environment")
    opened = {key: unwrap(text, f"secret_environment[{key}]") for key, text in secret.items()}
    return container_spec.environment({**checked, **opened})


def environment_text(env):
    """
    ``env`` as the JSON text the host receives sealed (``sealed_environment``); Invalid when it
    is larger than a sealed text may be (``brine.sealed.MAX_TEXT`` bytes).
    """
    text = json.dumps(env, sort_keys=True)
    if len(text.encode("utf-8")) > sealed.MAX_TEXT:
        raise Invalid(f"the environment must be at most {sealed.MAX_TEXT} bytes as JSON in all")
    return text
