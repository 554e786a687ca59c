"""
The site as the web app calls it, for the tiers on the lab: salt-api through nginx (login, one
runner call), a console ticket made the way the browser makes it, and a reader of Brine's event
stream (``/stream``) that collects what one user receives.
"""

import json
import ssl
import threading
import time
import urllib.error
import urllib.request

import requests

from brine import console_crypto


def _context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def api_login(lab, role):
    """A salt-api token of the lab's user of ``role`` (admin, operator, viewer)."""
    username, password = lab.users[role]
    status, body = api_post(lab, "/login", {"username": username, "password": password, "eauth": "pam"})
    assert status == 200, body
    return body["return"][0]["token"]


def api_post(lab, path, body, token=None):
    """POST ``body`` to ``/api<path>`` through the site: (HTTP status, JSON or text)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    request = urllib.request.Request(
        lab.url.rstrip("/") + "/api" + path, data=json.dumps(body).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, context=_context(), timeout=120) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def console_ticket(lab, token, vm):
    """
    cluster.console through salt-api as the SPA calls it, with a fresh secret and RSA-OAEP key
    pair made here in the browser's stead: (HTTP status, return[0]). A ticket also gets what only
    the browser could work out: ``bound`` (``<token>.<secret>``, websockify's token parameter),
    ``secret`` and ``password`` (decrypted from ``password_encrypted``).
    """
    keys = console_crypto.request_keys()
    kwarg = {"name": vm, "binding": keys["binding"], "public_key": keys["public_key"]}
    status, body = api_post(lab, "/", [{"client": "runner", "fun": "cluster.console", "kwarg": kwarg}], token)
    ticket = body["return"][0] if status == 200 else body
    if isinstance(ticket, dict) and "token" in ticket:
        assert "password" not in ticket, "cluster.console returned a plain password"
        ticket = dict(
            ticket,
            bound=f"{ticket['token']}.{keys['secret']}",
            secret=keys["secret"],
            password=console_crypto.decrypt(keys["private_key"], ticket["password_encrypted"]),
        )
    return status, ticket


def runner(lab, token, fun, **kwarg):
    """One runner call through the site: (HTTP status, ``return[0]`` or the error text)."""
    low = {"client": "runner", "fun": fun}
    if kwarg:
        low["kwarg"] = kwarg
    status, body = api_post(lab, "/", [low], token)
    return status, (body["return"][0] if status == 200 else body)


class StreamReader:
    """
    Reads ``/stream`` through the site as ``token``'s user in a thread, keeping every line it
    receives (raw, so a secret anywhere in it is found) until ``close``.
    """

    def __init__(self, lab, token):
        self.lines = []
        self.status = None
        self._stop = threading.Event()
        self._response = requests.get(
            lab.url.rstrip("/") + "/stream",
            headers={"X-Auth-Token": token, "Accept": "text/event-stream"},
            stream=True,
            verify=False,
            timeout=(10, 60),
        )
        self.status = self._response.status_code
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            for line in self._response.iter_lines(decode_unicode=True):
                if self._stop.is_set():
                    break
                self.lines.append(line)
        except (requests.RequestException, OSError, AttributeError):
            pass

    @property
    def text(self):
        return "\n".join(self.lines)

    def tags(self):
        return [line[len("tag: ") :] for line in self.lines if line.startswith("tag: ")]

    def events(self):
        """The data of every event received, parsed."""
        return [json.loads(line[len("data: ") :]) for line in self.lines if line.startswith("data: {")]

    def wait_for(self, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.2)
        return False

    def close(self):
        self._stop.set()
        self._response.close()
