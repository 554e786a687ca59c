"""
What Docker says about containers and images, as Brine's dicts (issue 12; docs/containers.md):
``container_dict`` from ``docker ps``'s summary or an inspect, ``image_dict`` from either of
Docker's image shapes, and the status words ``docker ps`` shows. Pure: no I/O, no Docker SDK.

A container dict never carries the environment: it may hold secrets.
"""

import datetime
import re
import time

STATES = ("created", "running", "paused", "restarting", "exited", "dead", "removing")
MANAGED = "org.brine.managed"
EXITED_RE = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")


def _short(value):
    text = str(value or "")
    return text.partition(":")[2][:12] if text.startswith("sha256:") else text[:12]


def _epoch(value):
    """Epoch seconds of Docker's int or RFC 3339 time (nanoseconds cut to microseconds)."""
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value or "")
    found = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if not found:
        return None
    zone = "+00:00" if found.group(3) == "Z" else found.group(3)
    when = datetime.datetime.fromisoformat(f"{found.group(1)}.{(found.group(2) or '0')[:6]:0<6}{zone}")
    return int(when.timestamp())


def _never(value):
    return not value or str(value).startswith("0001-01-01")


def _human(seconds):
    """Docker's words for a duration (go-units ``HumanDuration``)."""
    seconds = max(0, int(seconds))
    minutes, hours = seconds // 60, round(seconds / 3600)
    if seconds < 1:
        return "Less than a second"
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    if minutes < 60:
        return "About a minute" if minutes == 1 else f"{minutes} minutes"
    if hours == 1:
        return "About an hour"
    for limit, unit, size in (
        (48, "hours", 1),
        (336, "days", 24),
        (1440, "weeks", 168),
        (17520, "months", 720),
    ):
        if hours < limit:
            return f"{hours // size} {unit}"
    return f"{hours // 8760} years"


def _status(state, now=None):
    """Docker's status words (``docker ps``) from an inspect's State, as the daemon makes them."""
    now = time.time() if now is None else now
    code = state.get("ExitCode", 0)
    if state.get("Running"):
        if state.get("Paused"):
            return f"Up {_human(now - (_epoch(state.get('StartedAt')) or now))} (Paused)"
        if state.get("Restarting"):
            return f"Restarting ({code}) {_human(now - (_epoch(state.get('FinishedAt')) or now))} ago"
        return f"Up {_human(now - (_epoch(state.get('StartedAt')) or now))}"
    if state.get("Status") == "removing":
        return "Removal In Progress"
    if state.get("Dead"):
        return "Dead"
    if _never(state.get("StartedAt")):
        return "Created"
    if _never(state.get("FinishedAt")):
        return ""
    return f"Exited ({code}) {_human(now - (_epoch(state.get('FinishedAt')) or now))} ago"


def _fold(ports):
    """Published mappings sorted, each IPv6 twin of an all-addresses binding folded into it."""
    ports = [p for p in ports if p["host_port"]]
    keys = {(p["host_port"], p["container_port"], p["protocol"]) for p in ports if p["bind"] == "0.0.0.0"}
    kept = [
        p
        for p in ports
        if not (p["bind"] == "::" and (p["host_port"], p["container_port"], p["protocol"]) in keys)
    ]
    unique = {(p["host_port"], p["protocol"], p["bind"], p["container_port"]): p for p in kept}
    return [unique[key] for key in sorted(unique, key=lambda k: (k[0], k[1], k[2], k[3]))]


def _bindings(table):
    """Mappings from Docker's ``{"80/tcp": [{"HostIp", "HostPort"}]}``."""
    found = []
    for key, bindings in (table or {}).items():
        number, _sep, protocol = str(key).partition("/")
        for binding in bindings or []:
            host_port = str(binding.get("HostPort") or "")
            found.append(
                {
                    "host_port": int(host_port) if host_port.isdigit() else None,
                    "container_port": int(number),
                    "protocol": protocol or "tcp",
                    "bind": binding.get("HostIp") or "0.0.0.0",
                }
            )
    return found


def _restart(policy):
    name = (policy or {}).get("Name") or "no"
    return f"on-failure:{policy.get('MaximumRetryCount') or 0}" if name == "on-failure" else name


def container_dict(data):
    """
    Brine's container dict (docs/containers.md) from an entry of ``client.containers()`` (a
    summary: no restart policy, so ``restart`` is None) or from ``client.inspect_container()``,
    which may carry the summary's ``Status`` words beside it (``containers`` and ``describe``
    put them there; without them they are made from the State as Docker makes them).
    Never the environment.
    """
    labels = (data.get("Labels") if "Names" in data else (data.get("Config") or {}).get("Labels")) or {}
    if "Names" in data:  # a summary
        names = data.get("Names") or ["/"]
        status = data.get("Status") or ""
        code = EXITED_RE.match(status)
        ports = [
            {
                "host_port": p.get("PublicPort"),
                "container_port": p.get("PrivatePort"),
                "protocol": p.get("Type") or "tcp",
                "bind": p.get("IP") or "0.0.0.0",
            }
            for p in data.get("Ports") or []
        ]
        return {
            "name": names[0].lstrip("/"),
            "id": _short(data.get("Id")),
            "image": data.get("Image"),
            "image_id": _short(data.get("ImageID")),
            "state": data.get("State"),
            "status": status,
            "ports": _fold(ports),
            "created": _epoch(data.get("Created")),
            "restart": None,
            "exit_code": int(code.group(1)) if code else None,
            "command": data.get("Command") or "",
            "managed": labels.get(MANAGED) == "true",
        }
    state = data.get("State") or {}
    word = state.get("Status") or "created"
    settings = (data.get("NetworkSettings") or {}).get("Ports")
    published = _bindings(settings) if any(settings.values() if settings else ()) else []
    ports = published or _bindings((data.get("HostConfig") or {}).get("PortBindings"))
    exited = word in ("exited", "dead", "restarting") and not _never(state.get("FinishedAt"))
    return {
        "name": str(data.get("Name") or "").lstrip("/"),
        "id": _short(data.get("Id")),
        "image": (data.get("Config") or {}).get("Image"),
        "image_id": _short(data.get("Image")),
        "state": word,
        "status": data["Status"] if "Status" in data else _status(state),
        "ports": _fold(ports),
        "created": _epoch(data.get("Created")),
        "restart": _restart((data.get("HostConfig") or {}).get("RestartPolicy")),
        "exit_code": state.get("ExitCode") if exited else None,
        "command": " ".join(
            str(part) for part in [data.get("Path") or "", *(data.get("Args") or [])]
        ).strip(),
        "managed": labels.get(MANAGED) == "true",
    }


def image_dict(data):
    """Brine's image dict from an entry of ``client.images()`` or ``client.inspect_image()``."""
    tags = sorted(tag for tag in data.get("RepoTags") or [] if tag != "<none>:<none>")
    return {
        "id": _short(data.get("Id")),
        "tags": tags,
        "ref": tags[0] if tags else "<none>",
        "created": _epoch(data.get("Created")),
        "size": data.get("Size"),
    }
