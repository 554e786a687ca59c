"""
A container's run arguments checked before anything touches a host (issue 12): the image
reference, the name, port mappings, environment and restart policy, each refused with a
sentence naming the argument (``brine.errors.Invalid``) and returned normalised.

The rules are Docker's own where it has them (the reference grammar of
distribution/reference, container names, restart policies); the bounds are Brine's, so no
argument is unbounded. Nothing here is ever put in a shell: the host module passes these values
to the Docker API as data.
"""

import ipaddress
import re
import secrets

from brine.errors import Invalid

# distribution/reference: a path component is lowercase alphanumerics joined by one separator
# ("." "_" "__" or dashes); a domain is DNS labels with an optional port; a tag is 128 word
# characters, dots and dashes, not starting with either; a digest is sha256 and 64 hex digits.
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?"
REFERENCE_RE = re.compile(
    rf"(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?"
)
REFERENCE_MAX = 255
# Docker's container names (daemon/names.go), bounded.
NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
PROTOCOLS = ("tcp", "udp", "sctp")
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
# Brine's bounds: how many of each a container may have, and how long an environment value is.
MAX_PORTS = 64
MAX_ENV = 128
ENV_VALUE_MAX = 32768
MAX_RETRIES = 100
PORT_RE = re.compile(
    r"(?:(?P<bind>\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(?P<host>\d{1,5}):(?P<container>\d{1,5})(?:/(?P<protocol>[a-z]+))?"
)


def image(value):
    """
    ``{"ref", "repository", "tag", "digest"}`` of an image reference (``registry:5000/web:1.2``,
    ``web``, ``web@sha256:...``); the tag defaults to ``latest`` when there is no digest.
    """
    if not isinstance(value, str) or not value or len(value) > REFERENCE_MAX:
        raise Invalid(f"image must be a reference of 1 to {REFERENCE_MAX} characters")
    found = REFERENCE_RE.fullmatch(value)
    if not found:
        raise Invalid(
            f"image {value!r} is not an image reference: [registry[:port]/]name[:tag][@sha256:digest], "
            "the name in lowercase letters, digits and . _ - separators"
        )
    domain, path = found.group("domain"), found.group("path")
    repository = f"{domain}/{path}" if domain else path
    tag = found.group("tag") or (None if found.group("digest") else "latest")
    return {"ref": value, "repository": repository, "tag": tag, "digest": found.group("digest")}


def name(value):
    """A container name as Docker takes it: 1 to 63 letters, digits, '_', '.' or '-'."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise Invalid(
            f"{value!r} is not a valid container name: use 1 to 63 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value


def _port_number(value, argument):
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= 65535:
        raise Invalid(f"{argument} must be a port from 1 to 65535, not {value!r}")
    return value


def _bind(value, argument):
    if value in (None, ""):
        return "0.0.0.0"
    text = str(value).strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError as err:
        raise Invalid(f"{argument} must be an IP address to bind on, not {value!r}") from err


def port(value, index=0):
    """
    One mapping, ``{"host_port", "container_port", "protocol", "bind"}``, from a dict with those
    keys or Docker's short form ``[bind:]host:container[/protocol]`` (``127.0.0.1:8080:80/tcp``).
    """
    argument = f"ports[{index}]"
    if isinstance(value, str):
        found = PORT_RE.fullmatch(value)
        if not found:
            raise Invalid(f"{argument} {value!r} is not [address:]host_port:container_port[/protocol]")
        value = {
            "bind": found.group("bind"),
            "host_port": found.group("host"),
            "container_port": found.group("container"),
            "protocol": found.group("protocol"),
        }
    if not isinstance(value, dict):
        raise Invalid(f"{argument} must be a mapping or host:container, not a {type(value).__name__}")
    unknown = sorted(set(value) - {"host_port", "container_port", "protocol", "bind"})
    if unknown:
        raise Invalid(f"{argument} has unknown key {unknown[0]!r}")
    protocol = value.get("protocol") or "tcp"
    if protocol not in PROTOCOLS:
        raise Invalid(f"{argument}.protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    return {
        "host_port": _port_number(value.get("host_port"), f"{argument}.host_port"),
        "container_port": _port_number(value.get("container_port"), f"{argument}.container_port"),
        "protocol": protocol,
        "bind": _bind(value.get("bind"), f"{argument}.bind"),
    }


def ports(values):
    """Every mapping checked (at most ``MAX_PORTS``); one host port and protocol bound twice on
    one address (or on all of them) is refused."""
    if values in (None, ""):
        return []
    if not isinstance(values, list) or len(values) > MAX_PORTS:
        raise Invalid(f"ports must be a list of at most {MAX_PORTS} mappings")
    checked = [port(value, index) for index, value in enumerate(values)]
    seen = {}
    for index, mapping in enumerate(checked):
        key = (mapping["host_port"], mapping["protocol"])
        for other, bind in seen.get(key, []):
            if (
                "0.0.0.0" in (bind, mapping["bind"])
                or "::" in (bind, mapping["bind"])
                or bind == mapping["bind"]
            ):
                raise Invalid(
                    f"ports[{index}] binds host port {mapping['host_port']}/{mapping['protocol']} "
                    f"again (ports[{other}] has it)"
                )
        seen.setdefault(key, []).append((index, mapping["bind"]))
    return checked


def environment(values):
    """``{key: value}`` from a mapping or ``["KEY=value", ...]``: keys are names, values text of
    at most ``ENV_VALUE_MAX`` characters with no line break or NUL (at most ``MAX_ENV``)."""
    if values in (None, ""):
        return {}
    if isinstance(values, list):
        pairs = {}
        for index, item in enumerate(values):
            if not isinstance(item, str) or "=" not in item:
                raise Invalid(f"environment[{index}] must be KEY=value")
            key, _sep, text = item.partition("=")
            pairs[key] = text
        values = pairs
    if not isinstance(values, dict) or len(values) > MAX_ENV:
        raise Invalid(f"environment must be a mapping of at most {MAX_ENV} variables")
    checked = {}
    for key, given in values.items():
        if not isinstance(key, str) or not ENV_KEY_RE.fullmatch(key):
            raise Invalid(
                f"environment variable name {key!r} must be letters, digits and '_', "
                "not starting with a digit"
            )
        if isinstance(given, bool) or not isinstance(given, (str, int, float)):
            raise Invalid(f"environment variable {key} must be text")
        text = str(given)
        if len(text) > ENV_VALUE_MAX or any(char in text for char in "\n\r\0"):
            # The value is never repeated: it may be a secret.
            raise Invalid(
                f"environment variable {key} must be one line of at most {ENV_VALUE_MAX} characters, "
                "with no line break or NUL"
            )
        checked[key] = text
    return checked


def restart_policy(value):
    """``{"name", "max_retries"}`` from ``no``, ``always``, ``unless-stopped`` or
    ``on-failure[:N]`` (N at most ``MAX_RETRIES``)."""
    if value in (None, ""):
        return {"name": "no", "max_retries": 0}
    text = str(value)
    policy, _sep, retries = text.partition(":")
    if policy not in RESTART_POLICIES or (retries and policy != "on-failure"):
        raise Invalid(f"restart must be one of no, always, unless-stopped, on-failure[:N], not {text!r}")
    count = 0
    if retries:
        if not retries.isdigit() or not 0 <= int(retries) <= MAX_RETRIES:
            raise Invalid(f"restart on-failure takes a number of retries from 0 to {MAX_RETRIES}")
        count = int(retries)
    return {"name": policy, "max_retries": count}


def domain(reference):
    """
    The registry a reference names, by Docker's rule (distribution/reference's
    ``splitDockerDomain``): the part before the first ``/`` when it has a ``.`` or a ``:`` or is
    ``localhost`` (``brine-master:5000/brine/web:1``); None for ``brine/web:1`` and ``web``,
    which Docker would read as Docker Hub's and Brine reads through the site's registry.
    """
    first, slash, _rest = image(reference)["ref"].partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def qualified(reference, registry):
    """``reference`` under ``registry`` (``brine-master:5000/brine/web:1``) when it names no registry
    itself; as it is otherwise or without a registry."""
    if not registry or domain(reference):
        return reference
    return f"{registry}/{reference}"


def default_name(reference, suffix=None):
    """A container name for an image: the last part of its path and ``suffix``, by default four
    random hex digits (``web-3fa2``)."""
    suffix = secrets.token_hex(2) if suffix is None else suffix
    last = image(reference)["repository"].rsplit("/", 1)[-1]
    return name(f"{last[: 62 - len(suffix)]}-{suffix}")


def spec(image=None, name=None, ports=None, environment=None, restart=None):
    """
    Every run argument checked: ``{"image": image(...), "name": name or None, "ports": [...],
    "environment": {...}, "restart": {"name", "max_retries"}}``. Also takes what it returns (an
    image given as its dict, a restart policy as ``{"name", "max_retries"}``), so
    ``spec(**spec(...))`` is the same spec.
    """
    if isinstance(image, dict) and "ref" in image:
        image = image["ref"]
    if isinstance(restart, dict) and set(restart) == {"name", "max_retries"}:
        policy = restart["name"]
        restart = f"on-failure:{restart['max_retries']}" if policy == "on-failure" else policy
    return {
        "image": _image(image),
        "name": None if name in (None, "") else _name(name),
        "ports": _ports(ports),
        "environment": _environment(environment),
        "restart": restart_policy(restart),
    }


# spec's keywords are the API's words and shadow the checks' names inside it.
_image, _name, _ports, _environment = image, name, ports, environment
