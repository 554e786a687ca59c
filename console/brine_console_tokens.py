"""
websockify's token and auth plugins for Brine's one-time console tokens.

The ``cluster.console`` runner (in the salt-master) issues a token for one VM's VNC server
into ``brine:console:token_dir``, bound to the browser session that asked (the SHA-256 of a
secret the browser keeps); the site's one websockify redeems it once, for exactly the host and
port written when it was issued, and only with that secret::

    websockify --token-plugin brine_console_tokens.BrineConsoleTokens --token-source <token_dir> \\
               --auth-plugin brine_console_tokens.BrineConsoleAuth [--auth-source <record>] ...

The browser sends ``?token=<token>.<secret>`` (websockify hands its token plugin only the
``token`` parameter). A token without its secret, or with another one, is refused with 403 and
stays usable by its owner. The auth plugin appends each redemption or refusal, with the client
address nginx forwarded, to the console record (``--auth-source``, default
``/var/log/brine/consoles.log``, the runner's ``brine:console:record`` default): never the
token, the secret or a password.

The token store itself (format, binding, single use, expiry, the directory's owner and mode
checks) is ``brine.tokens`` in Brine's library, the same code the runner writes with; the
record is ``brine.console_record``. websockify must therefore run with both ``<repo>/console``
(this file) and ``<repo>/_utils`` (the ``brine`` package) on its ``PYTHONPATH``: whatever
starts websockify (the ``brine`` formula's service, the lab) sets both.
Nothing here needs Salt: both modules are standard library only.
"""

import logging

from brine import console_record
from brine import tokens
from brine.tokens import DEFAULT_DIR
from brine.tokens import TOKEN_RE
from brine.tokens import TokenError
from brine.tokens import issue
from brine.tokens import redeem
from brine.tokens import sweep

__all__ = [
    "DEFAULT_DIR",
    "REFUSED_HOST",
    "REFUSED_PORT",
    "TOKEN_RE",
    "BrineConsoleAuth",
    "BrineConsoleTokens",
    "TokenError",
    "issue",
    "redeem",
    "sweep",
]

log = logging.getLogger(__name__)

# websockify asks the token plugin for a target, then the auth plugin whether to proceed; only
# the auth plugin can answer the browser with an HTTP error (a refused token plugin lookup just
# drops the connection, which nginx reports as 502). So a refused token maps to this target,
# which cannot resolve (RFC 2606 .invalid), and BrineConsoleAuth answers 403 with the reason.
# websockify forks one process per connection: what the token plugin found lives only as long
# as that request, for the auth plugin to record.
REFUSED_HOST = "refused.brine.invalid"
REFUSED_PORT = 9
_last = {"reason": None, "fields": None}


def _fingerprint(combined):
    token = combined.partition(tokens.SEPARATOR)[0] if isinstance(combined, str) else None
    return tokens.fingerprint(token) if token and TOKEN_RE.match(token) else None


class BrineConsoleTokens:
    """websockify token plugin: ``lookup("<token>.<secret>")`` -> ``(address, port)`` once."""

    def __init__(self, src):
        self.source = src or tokens.DEFAULT_DIR

    def lookup(self, token):
        fingerprint = _fingerprint(token)
        try:
            record = tokens.redeem(self.source, *tokens.split(token))
        except TokenError as exc:
            log.warning("console token %s refused: %s", fingerprint or "(malformed)", exc)
            refusal = {"event": "refused", "token": fingerprint, "reason": str(exc)}
            _last.update(reason=str(exc), fields=refusal)
            return REFUSED_HOST, REFUSED_PORT
        redeemed = {"event": "redeemed", "token": fingerprint}
        _last.update(reason=None, fields=dict(redeemed, vm=record.get("vm"), host=record.get("host")))
        log.info(
            "console token %s for %s on %s redeemed -> %s:%s",
            fingerprint,
            record.get("vm"),
            record.get("host"),
            record["address"],
            record["port"],
        )
        return record["address"], record["port"]


def client_address(headers):
    """The browser's address as nginx forwarded it (X-Real-IP, else X-Forwarded-For's last)."""
    headers = headers or {}
    real = (headers.get("X-Real-IP") or "").strip()
    forwarded = [part.strip() for part in (headers.get("X-Forwarded-For") or "").split(",") if part.strip()]
    return real or (forwarded[-1] if forwarded else None)


class BrineConsoleAuth:
    """
    websockify auth plugin: records the redemption (or refusal) BrineConsoleTokens just made in
    the console record at ``src`` (``--auth-source``), and answers 403 with the reason when the
    token was refused.
    """

    def __init__(self, src=None):
        self.source = src or console_record.DEFAULT_PATH

    def authenticate(self, headers, target_host, target_port):
        # Imported here so that the token plugin loads without websockify's auth module.
        from websockify.auth_plugins import AuthenticationError  # noqa: PLC0415

        refused = target_host == REFUSED_HOST or target_host is None
        fields = _last["fields"] or {"event": "refused", "reason": "no console token"}
        _last["fields"] = None
        try:
            console_record.append(self.source, dict(fields, client=client_address(headers)))
        except console_record.RecordError as exc:
            log.error("console refused: %s", exc)
            if not refused:
                sentence = "Console refused: the console record cannot be written"
                raise AuthenticationError(
                    log_msg=f"{exc}", response_code=403, response_msg=sentence
                ) from None
        if refused:
            reason = _last["reason"] or "no console token"
            raise AuthenticationError(
                log_msg=reason, response_code=403, response_msg=f"Console refused: {reason}"
            )
