"""
websockify's token and auth plugins for Brine's one-time console tokens.

The ``cluster.console`` runner (in the salt-master) issues a token for one VM's VNC server
into ``brine:console:token_dir``; the site's one websockify redeems it once, for exactly the
host and port written when it was issued::

    websockify --token-plugin brine_console_tokens.BrineConsoleTokens --token-source <token_dir> \\
               --auth-plugin brine_console_tokens.BrineConsoleAuth ...

The token store itself (format, single use, expiry, the directory's owner and mode checks) is
``brine.tokens`` in Brine's library, the same code the runner writes with. websockify must
therefore run with both ``<repo>/console`` (this file) and ``<repo>/_utils`` (the ``brine``
package) on its ``PYTHONPATH``: whatever starts websockify (the ``brine`` formula's service,
the lab) sets both.
Nothing here needs Salt: ``brine.tokens`` is standard library only.
"""

import logging

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
# websockify forks one process per connection: the reason lives only as long as that request.
REFUSED_HOST = "refused.brine.invalid"
REFUSED_PORT = 9
_refusal = {"reason": None}


class BrineConsoleTokens:
    """websockify token plugin: ``lookup(token)`` -> ``(address, port)`` once."""

    def __init__(self, src):
        self.source = src or tokens.DEFAULT_DIR

    def lookup(self, token):
        try:
            record = tokens.redeem(self.source, token)
        except TokenError as exc:
            log.warning("console token refused: %s", exc)
            _refusal["reason"] = str(exc)
            return REFUSED_HOST, REFUSED_PORT
        _refusal["reason"] = None
        log.info(
            "console token for %s on %s redeemed -> %s:%s",
            record.get("vm"),
            record.get("host"),
            record["address"],
            record["port"],
        )
        return record["address"], record["port"]


class BrineConsoleAuth:
    """websockify auth plugin: 403 with the reason when BrineConsoleTokens refused the token."""

    def __init__(self, src=None):
        self.source = src

    def authenticate(self, headers, target_host, target_port):
        if target_host == REFUSED_HOST or target_host is None:
            # Imported here so that the token plugin loads without websockify's auth module.
            from websockify.auth_plugins import AuthenticationError  # noqa: PLC0415

            reason = _refusal["reason"] or "no console token"
            raise AuthenticationError(
                log_msg=reason, response_code=403, response_msg=f"Console refused: {reason}"
            )
