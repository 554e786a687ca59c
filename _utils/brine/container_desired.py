"""
A container as the pillar describes it, against the container Docker has (issue 12, the
``containers`` states): the pillar entry checked, the labels a described container carries, and
what differs, in words that never hold an environment value.

A container the states make carries three labels:
- ``org.brine.managed`` = ``"true"``: the states made it (``docker_host`` reads it as ``managed``);
- ``org.brine.spec``: a SHA-256 of the normalised description (image reference as written, port
  mappings, restart policy, and the environment's variable *names*);
- ``org.brine.environment``: those names, comma-separated (left out when they do not fit in a
  label value: then a variable dropped from the description is "its description changed").

The environment's values are not hashed into a label: labels show wherever containers are listed
(``docker ps``, Docker's events), the environment does not, and a digest of a short secret is as
good as the secret. They are compared with the environment the container runs with (its
``Config.Env``), which is where Docker keeps them anyway.

Pure: every function takes what Docker answered (``inspect_container``'s dict) as an argument.
"""

import hashlib
import json

from brine import container_spec
from brine.errors import Invalid

MANAGED_LABEL = "org.brine.managed"
SPEC_LABEL = "org.brine.spec"
ENVIRONMENT_LABEL = "org.brine.environment"
STATES = ("running", "stopped", "absent")
ENTRY_KEYS = ("image", "ports", "environment", "restart", "state")
# The longest label value brine.docker_host puts on a container.
LABEL_VALUE_MAX = 4096


def entry(name, description):
    """
    ``{"name", "state", "spec"}`` from the pillar entry ``containers:<name>``: a mapping of
    ``image``, ``ports``, ``environment``, ``restart`` and ``state`` (``running``, the default,
    ``stopped`` or ``absent``). ``spec`` is ``container_spec.spec(...)`` when the entry names an
    image (required for ``running``), else None. Every mistake is ``Invalid`` naming the entry.
    """
    name = container_spec.name(name)
    where = f"containers:{name}"
    if description is None:
        description = {}
    if not isinstance(description, dict):
        raise Invalid(f"{where} must be a mapping of {', '.join(ENTRY_KEYS)}")
    unknown = sorted(str(key) for key in set(description) - set(ENTRY_KEYS))
    if unknown:
        raise Invalid(f"{where} has unknown key {unknown[0]!r} (it takes {', '.join(ENTRY_KEYS)})")
    state = description.get("state") or "running"
    if state not in STATES:
        raise Invalid(f"{where}: state must be running, stopped or absent, not {state!r}")
    spec = None
    if description.get("image") is not None or state == "running":
        try:
            spec = container_spec.spec(
                description.get("image"),
                name=name,
                ports=description.get("ports"),
                environment=description.get("environment"),
                restart=description.get("restart"),
            )
        except Invalid as err:
            raise Invalid(f"{where}: {err.sentence}", err.code) from err
    return {"name": name, "state": state, "spec": spec}


# -- words ---------------------------------------------------------------------------------------
def port_text(mapping):
    """``8080:80/tcp``, ``127.0.0.1:8080:80/udp``, ``[::1]:8080:80/tcp``."""
    bind = mapping["bind"]
    prefix = "" if bind == "0.0.0.0" else (f"[{bind}]:" if ":" in bind else f"{bind}:")
    return f"{prefix}{mapping['host_port']}:{mapping['container_port']}/{mapping['protocol']}"


def restart_text(policy):
    """``no``, ``always``, ``unless-stopped``, ``on-failure`` or ``on-failure:N``."""
    if policy["name"] == "on-failure" and policy.get("max_retries"):
        return f"on-failure:{policy['max_retries']}"
    return policy["name"]


def _ports(mappings):
    return sorted(port_text(mapping) for mapping in mappings)


def summary(spec):
    """What a state return may show of a description: the environment by its names only."""
    return {
        "image": spec["image"]["ref"],
        "ports": _ports(spec["ports"]),
        "restart": restart_text(spec["restart"]),
        "environment": sorted(spec["environment"]),
    }


# -- labels --------------------------------------------------------------------------------------
def digest(spec):
    """The SHA-256 (hex) of the normalised description, environment values left out (see above):
    the same for the same description whatever the order of its ports or variables."""
    canonical = json.dumps(summary(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def labels(spec):
    """The labels a container made from ``spec`` carries (the environment's names only while they
    fit in a label value, ``LABEL_VALUE_MAX``)."""
    made = {MANAGED_LABEL: "true", SPEC_LABEL: digest(spec)}
    names = ",".join(sorted(spec["environment"]))
    if len(names) <= LABEL_VALUE_MAX:
        made[ENVIRONMENT_LABEL] = names
    return made


def _labels_of(data):
    return ((data or {}).get("Config") or {}).get("Labels") or {}


def is_managed(data):
    """True when the container (``inspect_container``'s dict) was made by the states."""
    return _labels_of(data).get(MANAGED_LABEL) == "true"


# -- what the container has ----------------------------------------------------------------------
def actual_environment(data):
    """``{key: value}`` of the environment the container runs with (its image's variables too)."""
    pairs = {}
    for item in (data.get("Config") or {}).get("Env") or []:
        key, _sep, value = item.partition("=")
        pairs[key] = value
    return pairs


def actual_ports(data):
    """The container's port mappings from its configuration (``HostConfig.PortBindings``, there
    whether it runs or not), as ``port_text`` writes them, sorted."""
    found = []
    for port, bindings in ((data.get("HostConfig") or {}).get("PortBindings") or {}).items():
        container_port, _sep, protocol = str(port).partition("/")
        for binding in bindings or []:
            if not str(binding.get("HostPort") or "").isdigit():
                continue
            mapping = {
                "bind": binding.get("HostIp") or "0.0.0.0",
                "host_port": int(binding["HostPort"]),
                "container_port": int(container_port),
                "protocol": protocol or "tcp",
            }
            found.append(port_text(mapping))
    return sorted(found)


def actual_restart(data):
    policy = (data.get("HostConfig") or {}).get("RestartPolicy") or {}
    return restart_text(
        {"name": policy.get("Name") or "no", "max_retries": policy.get("MaximumRetryCount") or 0}
    )


def _image_matches(ref, actual, registry):
    """``brine/web:1`` described and ``<registry>/brine/web:1`` run (the registry rule) match."""
    if actual == ref:
        return True
    return bool(registry) and actual == f"{registry}/{ref}"


def environment_changes(spec, data):
    """The names of the variables whose value differs, that are new, or that the description no
    longer gives (sorted): the container's own values are never returned."""
    wanted = spec["environment"]
    actual = actual_environment(data)
    changed = {key for key, value in wanted.items() if actual.get(key) != value}
    listed = _labels_of(data).get(ENVIRONMENT_LABEL)
    if listed is not None:
        # The names the container was made with: the ones dropped since, and the ones new since
        # (its image may give one the same value).
        before = {key for key in listed.split(",") if key}
        changed |= (before - set(wanted)) | (set(wanted) - before)
    return sorted(changed)


def differences(spec, data, registry=None):
    """
    What differs between the description ``spec`` and the container ``data`` (its
    ``inspect_container`` dict), as sentences (empty: nothing). Whether it differs is the spec
    label against ``digest(spec)`` and the environment's values against the container's; the
    sentences say which part, the environment by its variable names only.
    """
    changed_env = environment_changes(spec, data)
    if _labels_of(data).get(SPEC_LABEL) == digest(spec) and not changed_env:
        return []
    wanted = summary(spec)
    found = []
    image = (data.get("Config") or {}).get("Image") or "?"
    if not _image_matches(wanted["image"], image, registry):
        found.append(f"image {image} → {wanted['image']}")
    ports = actual_ports(data)
    if ports != wanted["ports"]:
        found.append(f"ports {', '.join(ports) or 'none'} → {', '.join(wanted['ports']) or 'none'}")
    restart = actual_restart(data)
    if restart != wanted["restart"]:
        found.append(f"restart {restart} → {wanted['restart']}")
    if changed_env:
        found.append(f"environment changed ({', '.join(changed_env)})")
    return found or ["its description changed"]
