"""
The runner face: what every public runner function of Brine does around its own work.

Salt hands a runner function whatever the caller sent (salt-run's words, salt-api's ``kwarg``,
publish data as ``__pub_*`` keys) and turns anything the function raises into text: a whole
traceback (``Exception occurred in runner cluster.x: Traceback ...``) or, for a ``TypeError``
(``SaltInvocationError`` is one), ``Passed invalid arguments: ... Usage: <the docstring>``.
``public`` wraps a runner function so that none of that reaches a caller:

- it takes any arguments (Salt sees ``(*args, **kwargs)``), drops Salt's internal keys (those
  starting with ``__``) and binds the rest to the function's real signature itself, so a wrong,
  missing or repeated argument is an ``invalid_argument`` error naming it;
- a Brine error (``brine.errors``: ``Invalid``, ``Refused``, or any exception carrying a known
  code) comes back as ``{"error": {"code", "message"}}`` (``ERROR_KEY``);
- anything else is logged with its traceback and a short reference in the master's log, and
  comes back as ``internal`` with that reference and nothing of the traceback.

A refusal also sets ``retcode`` 1 in the loader's context (Salt marks the job failed), and in
the return (``salt-run`` exits with it). Execution modules on hosts keep raising coded errors:
a minion returns ``ERROR: [code] ...`` for those, which ``brine.fanout`` reads.
"""

import functools
import inspect
import logging
import secrets
import types

from brine import errors

log = logging.getLogger(__name__)

ERROR_KEY = "error"


def error(code, message):
    """
    The structured return of a refused call. ``retcode`` is there for ``salt-run``, which takes
    its exit status from a return's ``retcode`` only (salt/cli/run.py).
    """
    if code not in errors.CODES:
        raise ValueError(f"unknown Brine error code {code!r}")
    return {ERROR_KEY: {"code": code, "message": message}, "retcode": 1}


def is_error(ret):
    """True when ``ret`` is the structured return of a refused call."""
    return isinstance(ret, dict) and isinstance(ret.get(ERROR_KEY), dict) and "code" in ret[ERROR_KEY]


def _names(signature):
    return ", ".join(signature.parameters) or "none"


def bind(fun, signature, args, kwargs):
    """
    ``signature.bind`` of what Salt passed, without Salt's ``__`` keys; ``Invalid`` naming the
    argument that is wrong, missing or given twice, never Python's ``TypeError``.
    """
    kwargs = {key: value for key, value in kwargs.items() if not str(key).startswith("__")}
    # A function with **fields (provision.catalog_set) takes any further keyword: it judges them.
    open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    params = {key: p for key, p in signature.parameters.items() if p.kind is not p.VAR_KEYWORD}
    unknown = [] if open_ended else sorted(str(key) for key in kwargs if key not in params)
    if unknown:
        raise errors.Invalid(
            f"{fun} has no argument {', '.join(unknown)} (its arguments: {_names(signature)})"
        )
    if len(args) > len(params):
        raise errors.Invalid(
            f"{fun} takes at most {len(params)} arguments ({_names(signature)}), not {len(args)}"
        )
    for position, key in enumerate(params):
        if position < len(args) and key in kwargs:
            raise errors.Invalid(f"{fun} got {key} twice, by position and by name")
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        given = set(list(params)[: len(args)]) | set(kwargs)
        missing = [key for key, param in params.items() if param.default is param.empty and key not in given]
        raise errors.Invalid(f"{fun} needs the argument {', '.join(missing) or '?'}") from None
    return bound


def refusal(exc):
    """The structured return of a Brine error, or None when ``exc`` carries no Brine code."""
    code = errors.of(exc)
    if code is None:
        return None
    sentence = getattr(exc, "sentence", None)
    if not isinstance(sentence, str):
        sentence = errors.parse(str(exc))[1]
    return error(code, sentence)


def unexpected(fun):
    """Log the exception being handled with a reference; the ``internal`` return naming it."""
    ref = secrets.token_hex(4)
    log.error("Brine: %s failed unexpectedly (ref %s)", fun, ref, exc_info=True)
    return error("internal", f"Brine hit an unexpected problem (ref {ref}); the master's log has the details")


def _set_retcode(context, value):
    if context is None:
        return
    try:
        if value:
            context["retcode"] = value
        elif "retcode" in context:
            del context["retcode"]
    except Exception:  # the context is Salt's; a failure here must not hide the answer
        log.debug("Brine: could not set retcode in the loader context", exc_info=True)


def runner(module, context):
    """
    The decorator for the public functions of runner ``module`` (its name, as in
    ``salt-run <module>.<function>``). ``context`` is a callable that
    returns the module's ``__context__`` (or None outside Salt's loader): the library never
    reads Salt's dunders itself.
    """

    def public(function):
        fun = f"{module}.{function.__name__}"
        signature = inspect.signature(function)
        # Closure cells, not globals: the wrapper runs with the runner module's globals (below).
        binder, refused, failed, set_retcode = bind, refusal, unexpected, _set_retcode

        def face(*args, **kwargs):
            ctx = context()
            set_retcode(ctx, 0)
            try:
                bound = binder(fun, signature, args, kwargs)
                return function(*bound.args, **bound.kwargs)
            except Exception as exc:
                ret = refused(exc) or failed(fun)
            set_retcode(ctx, 1)
            return ret

        # Salt injects __user__, __jid__... into the globals of the function it calls
        # (salt/client/mixins.py low()): they must land in the runner module, not here.
        face = types.FunctionType(
            face.__code__, function.__globals__, function.__name__, None, face.__closure__
        )
        # Salt reads the signature through __wrapped__: it must see (*args, **kwargs) so that it
        # passes everything on and leaves the judging to ``bind``.
        functools.update_wrapper(face, function)
        del face.__wrapped__
        face.signature = signature
        face.function = function
        return face

    return public
