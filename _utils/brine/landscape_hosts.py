"""
The master's side of what the hosts have (docs/landscape.md): each hypervisor host's answer to
``landscape.networks`` or ``landscape.pools`` as one entry of the ``landscape`` runner's answer,
``{"host", "answered", "error": {"code", "message"} | None, "networks" | "pools": [..]}``.

``answered`` is true only when the host's list is there (as ``reachable`` in the cluster
inventory): a host that did not answer (``unreachable``), refused (its own code) or answered
something Brine does not understand (``host_error``) is ``answered: false`` with that error and
an empty list. A host whose landscape pillar is invalid passes its ``landscape_error`` sentence on.
"""

from brine import fanout


def _problem(ret, key, fun):
    """Why an answer to ``fun`` cannot be used, or None."""
    if (
        isinstance(ret, dict)
        and isinstance(ret.get(key), list)
        and all(isinstance(item, dict) and "name" in item for item in ret[key])
    ):
        return None
    return f"answered {fun} with data Brine does not understand"


def entry(host, key, ret=None, error=None):
    """
    One host's entry from its return ``ret`` or its ``error`` (``(code, sentence)``, as
    ``brine.fanout`` gives it).
    """
    found = {
        "host": host,
        "answered": error is None,
        "error": None if error is None else {"code": error[0], "message": error[1]},
        key: [] if error is not None else ret[key],
    }
    if error is None and isinstance(ret.get("landscape_error"), str):
        found["landscape_error"] = ret["landscape_error"]
    return found


def _checked(host, key, fun, ret, error):
    if error is None:
        problem = _problem(ret, key, fun)
        if problem:
            error = ("host_error", problem)
    return entry(host, key, ret, error)


def gathered(expected, answers, fun, key, wait):
    """
    ``{"hosts": [entry]}`` from what ``fanout.gather`` returned: every host the master
    expected, and any other that answered, by name.
    """
    hosts = []
    for host in sorted(set(expected) | set(answers)):
        answer = answers.get(host)
        if not fanout.answered(answer):
            hosts.append(entry(host, key, error=("unreachable", fanout.no_answer(wait))))
            continue
        hosts.append(_checked(host, key, fun, answer["ret"], fanout.host_error(answer, fun)))
    return {"hosts": hosts}


def asked(host, fun, key, ret, error):
    """``{"hosts": [entry]}`` of the one host ``fanout.ask`` asked: ``(ret, error)`` is its answer."""
    return {"hosts": [_checked(host, key, fun, ret, error)]}


def each(expected, answers, fun, wait):
    """
    ``{host: (ret, error)}`` from what ``fanout.gather`` returned, for answers that are dicts
    of any shape (``landscape.picture``, ``landscape.diff``): ``error`` is ``(code, sentence)`` when the
    host did not answer, refused, or answered something that is not a dict.
    """
    found = {}
    for host in sorted(set(expected) | set(answers)):
        answer = answers.get(host)
        if not fanout.answered(answer):
            found[host] = (None, ("unreachable", fanout.no_answer(wait)))
            continue
        error = fanout.host_error(answer, fun)
        if error is None and not isinstance(answer["ret"], dict):
            error = ("host_error", f"answered {fun} with data Brine does not understand")
        found[host] = (None, error) if error else (answer["ret"], None)
    return found
