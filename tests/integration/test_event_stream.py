"""
Brine's event stream (the master engine brine_stream) on a real master bus, with real minions
and a real salt-api: who may open it, and what reaches a viewer while hosts send events and an
operator runs runners.
"""

import json
import pathlib
import threading
import time
import uuid

import pytest
import requests

from brine import signing

WAIT = 60


class StreamReader:
    """One open stream, read in a thread: every (tag, data) it delivers, and its comments."""

    def __init__(self, url, token):
        self.response = requests.get(url, headers={"X-Auth-Token": token}, stream=True, timeout=(10, 120))
        self.events = []
        self.comments = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        tag, data = None, None
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("tag: "):
                    tag = line[len("tag: ") :]
                elif line.startswith("data: "):
                    data = json.loads(line[len("data: ") :])
                elif line == "" and data is not None:
                    self.events.append((tag, data))
                    tag, data = None, None
        except (requests.RequestException, AttributeError, ValueError):
            return

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            found = [event for event in list(self.events) if predicate(*event)]
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"the stream did not deliver {what}; it delivered {self.events}")

    def close(self):
        self.response.close()


@pytest.fixture
def viewer_stream(api, stream_url):
    reader = StreamReader(stream_url, api.token("viewer"))
    assert reader.response.status_code == 200, reader.response.text
    deadline = time.monotonic() + WAIT
    while not reader.comments:  # the greeting: the engine has registered this client
        assert time.monotonic() < deadline, "no greeting from the stream"
        time.sleep(0.05)
    yield reader
    reader.close()


def send(salt_cli, minion, tag, data):
    """An event from ``minion`` as Brine's host modules and engine send them: signed, ``event.send``."""
    ret = salt_cli.run("brinetest.send", tag, json.dumps(data), minion_tgt=minion)
    assert ret.returncode == 0 and ret.data is True, ret


def fire_batch(salt_cli, minion, events):
    """A batch of raw events from ``minion``: Salt fires each exactly as written (no wrapper of its own)."""
    preload = json.dumps({"events": [{"tag": tag, "data": data} for tag, data in events]})
    ret = salt_cli.run("event.fire_master", "{}", "ignored", f"preload={preload}", minion_tgt=minion)
    assert ret.returncode == 0, ret


@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": "0123456789abcdef"}])
def test_no_stream_without_a_valid_token(stream_url, headers):
    response = requests.get(stream_url, headers=headers, timeout=120)
    assert response.status_code == 401
    assert "text/event-stream" not in response.headers.get("Content-Type", "")


def test_cluster_session_says_who_calls_with_which_role(api, pam_users):
    for role in ("viewer", "operator", "admin"):
        assert api.result(role, "cluster.session") == {"user": pam_users[role][0], "role": role}


def test_a_viewer_gets_a_hosts_own_events_and_nothing_faked_or_secret(
    api, viewer_stream, salt_cli, hv1, host_ids
):
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    other = host_ids["hv2"]
    # Fakes first: hv1 speaks for another host in the tag, then in the payload.
    send(salt_cli, hv1.id, f"brine/vm/{other}/{probe}/state", {"host": other, "name": probe, "fake": 1})
    send(salt_cli, hv1.id, f"brine/vm/{hv1.id}/{probe}/state", {"host": other, "name": probe, "fake": 2})
    send(salt_cli, hv1.id, f"brine/host/{other}/resync", {"host": other, "reason": "fake"})
    # While an operator opens a console and runs runners (their returns carry secrets).
    console = api.runner("operator", "cluster.console", name="test")
    assert console.status_code == 200, console.text
    assert api.runner("operator", "cluster.inventory").status_code == 200
    # The real one last: once it is here, everything before it has passed the engine.
    state = {"host": hv1.id, "name": probe, "event": "started", "state": "running"}
    send(salt_cli, hv1.id, f"brine/vm/{hv1.id}/{probe}/state", state)
    real = viewer_stream.wait_for(lambda tag, _data: probe in tag, "the host's own event")
    assert real == [(f"brine/vm/{hv1.id}/{probe}/state", {"tag": real[0][0], "data": state})]
    for tag, _ in viewer_stream.events:
        assert tag.startswith("brine/") or (tag.startswith("salt/minion/") and tag.endswith("/start")), tag
    assert not [data for _, data in viewer_stream.events if "fake" in json.dumps(data)]
    # Whatever the console's return carried (token, password, URL), the viewer saw none of it.
    for secret in _strings(console.json()["return"][0]):
        assert secret not in json.dumps(viewer_stream.events)


def _strings(value):
    """Every string of eight characters or more in a runner's return (tokens, passwords, URLs)."""
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) and len(value) >= 8 else []


def test_a_host_cannot_forge_another_hosts_event_in_a_batch(viewer_stream, salt_cli, hv1, hv2_factory):
    """
    Salt fires each event of a minion's batch exactly as the minion wrote it, so hv1 can put a
    perfect wrapper of hv2 on the bus: without hv2's signature it goes nowhere, and hv1's own
    signature (its key is readable by root on hv1) does not make it hv2's. hv2's own, signed,
    gets through.
    """
    with hv2_factory.started():
        for fun in ("saltutil.sync_utils", "saltutil.sync_modules"):
            assert salt_cli.run(fun, minion_tgt=hv2_factory.id).returncode == 0
        other, probe = hv2_factory.id, f"forged-{uuid.uuid4().hex[:8]}"
        tag = f"brine/vm/{other}/{probe}/state"
        payload = {"host": other, "name": probe}
        hv1_key = signing.private_key(pathlib.Path(hv1.config["pki_dir"], "minion.pem").read_bytes())
        signed_by_hv1 = signing.sign(tag, payload, hv1_key, time.time())
        forged = [
            {"cmd": "_minion_event", "id": other, "tag": tag, "data": payload},
            {"cmd": "_minion_event", "id": other, "tag": tag, "data": signed_by_hv1},
        ]
        fire_batch(salt_cli, hv1.id, [(tag, data) for data in forged])
        marker = f"brine/vm/{other}/{probe}-real/state"
        send(salt_cli, other, marker, {"host": other, "name": f"{probe}-real"})
        viewer_stream.wait_for(lambda t, _data: t == marker, "hv2's own signed event")
    assert tag not in [t for t, _ in viewer_stream.events]


def test_an_unsigned_event_of_a_host_itself_is_dropped(viewer_stream, salt_cli, hv1):
    """Plain ``event.send`` (no signature) from the very host the tag names no longer passes."""
    probe = f"unsigned-{uuid.uuid4().hex[:8]}"
    unsigned = f"brine/vm/{hv1.id}/{probe}/state"
    ret = salt_cli.run("event.send", unsigned, f"data={json.dumps({'host': hv1.id})}", minion_tgt=hv1.id)
    assert ret.returncode == 0 and ret.data is True, ret
    marker = f"brine/host/{hv1.id}/resync"
    send(salt_cli, hv1.id, marker, {"host": hv1.id, "reason": probe})
    viewer_stream.wait_for(lambda tag, data: tag == marker and data["data"]["reason"] == probe, "the marker")
    assert unsigned not in [t for t, _ in viewer_stream.events]
