"""What every command shares: the run's state, the global options and the client factory."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dphi_em import _settings

from ._config import Credentials, Resolver, config_path
from ._debug import Redactor, enable_logging

if TYPE_CHECKING:
    from dphi_em import EMClient

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@dataclass
class State:
    """Settings gathered from the global options, wherever they appear on the line."""

    resolver: Resolver = field(default_factory=Resolver)
    quiet: bool = False
    debug: bool = False
    json: bool = False
    retries: int | None = None
    url_in_use: str | None = None
    username_in_use: str | None = None
    max_retries: int = 0
    redactor: Redactor = field(default_factory=Redactor)
    #: The command printed its own JSON document for the failure (no second one).
    json_done: bool = False


def get_state(ctx: click.Context | None = None) -> State:
    ctx = ctx or click.get_current_context()
    return ctx.ensure_object(State)


def _set_url(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        get_state(ctx).resolver.url = value


def _set_username(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        get_state(ctx).resolver.username = value


def _set_password_stdin(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        get_state(ctx).resolver.password_stdin = True


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        get_state(ctx).quiet = True


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        state = get_state(ctx)
        state.debug = True
        enable_logging(state.redactor)


def _set_retries(ctx: click.Context, _param: click.Parameter, value: int | None) -> None:
    if value is not None:
        get_state(ctx).retries = value


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        get_state(ctx).json = True


def global_options(*, hidden: bool = False) -> Callable[[F], F]:
    """``--url``, ``--username``, ``--password-stdin``, ``--quiet``, ``--debug``.

    They are accepted before the command (documented there) and after it (hidden), so both
    ``dphi-em --debug ls`` and ``dphi-em ls --debug`` work.
    """

    def _global(*decls: str, callback: Callable[..., None], **attrs: Any) -> Callable[[F], F]:
        return click.option(*decls, expose_value=False, callback=callback, hidden=hidden, **attrs)

    options = [
        _global(
            "--url",
            metavar="URL",
            callback=_set_url,
            help=f"EM address [env {_settings.ENV_URL}; default {_settings.DEFAULT_URL}].",
        ),
        _global(
            "--username",
            "-u",
            metavar="NAME",
            callback=_set_username,
            help=f"User name [env {_settings.ENV_USERNAME}].",
        ),
        _global(
            "--password-stdin",
            is_flag=True,
            callback=_set_password_stdin,
            help="Read the password from the first line of stdin "
            f"[else env {_settings.ENV_PASSWORD}, the config file, or a prompt].",
        ),
        _global(
            "--quiet",
            "-q",
            is_flag=True,
            callback=_set_quiet,
            help="No progress bars or confirmations.",
        ),
        _global(
            "--retries",
            type=click.IntRange(min=0),
            metavar="N",
            callback=_set_retries,
            help="Retries when the EM is busy (423) or refuses the connection "
            "[default: 7, within 60 s; 0: fail at once].",
        ),
        _global(
            "--debug",
            is_flag=True,
            callback=_set_debug,
            help="Show tracebacks and the HTTP exchange (secrets redacted).",
        ),
    ]

    def decorate(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def _json_flag(f: F, *, hidden: bool) -> F:
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        hidden=hidden,
        help="Print JSON for scripts (sizes in bytes, ISO 8601 times).",
    )(f)


def json_option(f: F) -> F:
    """``--json``: print one JSON document on stdout (every command takes it)."""
    return _json_flag(f, hidden=False)


def hidden_json_option(f: F) -> F:
    """``--json`` accepted on a group (``dphi-em image --json ls``) without being listed."""
    return _json_flag(f, hidden=True)


def checked_by(
    check: Callable[[str], Any],
) -> Callable[[click.Context, click.Parameter, str | None], Any]:
    """A click callback: ``check(value)``, its `ValueError` (the library's `ValidationError`
    is one) a usage error naming the option, before anything is sent; None stays None."""

    def callback(_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param=param) from None

    return callback


def _validate_pod_name(value: str) -> str | None:
    from dphi_em._validate import validate_pod_name  # on use: the CLI starts faster

    return validate_pod_name(value)


_check_pod = checked_by(_validate_pod_name)


def pod_option(f: F) -> F:
    """``--pod P``: the pod name, i.e. the volume (validated before anything is sent)."""
    return click.option(
        "--pod",
        "pod",
        metavar="POD",
        callback=_check_pod,
        help="Pod name, i.e. which volume [default: the default pod and volume].",
    )(f)


def command(
    name: str,
    *,
    public_globals: bool = False,
    cls: type[click.Command] | None = None,
    parent: click.Group | None = None,
) -> Callable[[F], click.Command]:
    """``click.command(name)`` with the global options also accepted after the command name,
    and ``--json``.

    Args:
        name: The command's name.
        public_globals: List the global options in this command's help too.
        cls: The command class (default: `click.Command`).
        parent: The group the command belongs to (`group`); None: added by the app.
    """

    def decorate(f: F) -> click.Command:
        wrapped = global_options(hidden=not public_globals)(f)
        params = getattr(wrapped, "__click_params__", [])
        if not any("--json" in getattr(p, "opts", ()) for p in params):
            wrapped = json_option(wrapped)  # unless the command declares it itself
        cmd: click.Command = click.command(name, cls=cls)(wrapped)
        if parent is not None:
            parent.add_command(cmd)
        return cmd

    return decorate


def group(name: str) -> Callable[[F], click.Group]:
    """``click.group(name)`` accepting the global options and ``--json`` (hidden) after its
    name, as in ``dphi-em image --json ls``; its commands are made by `command(parent=...)`."""

    def decorate(f: F) -> click.Group:
        made: click.Group = click.group(name)(global_options(hidden=True)(hidden_json_option(f)))
        return made

    return decorate


@contextlib.contextmanager
def open_client(
    state: State, *, creds: Credentials | None = None, prompt: bool | None = None
) -> Iterator[EMClient]:
    """Resolve the settings, then open an `EMClient` (nothing is sent until it is used).

    Args:
        state: The run's state.
        creds: Settings already resolved (else resolved here).
        prompt: Ask for missing credentials (None: when stdin is a terminal).
    """
    if creds is None:
        creds = state.resolver.resolve(prompt=prompt)
    state.redactor.add(creds.password)
    from dphi_em import DEFAULT_URL, EMClient, RetryPolicy

    state.url_in_use = creds.url or DEFAULT_URL
    state.username_in_use = creds.username
    policy = RetryPolicy() if state.retries is None else RetryPolicy(max_attempts=state.retries + 1)
    state.max_retries = policy.max_attempts - 1  # for the "retry 2/7" lines on stderr
    client = EMClient(
        base_url=creds.url, username=creds.username, password=creds.password, retry=policy
    )
    from dphi_em import AuthenticationError

    with client:
        from ._debug import redact_client_secrets

        redact_client_secrets(client.http_client, state.redactor)  # echoed tokens: hidden
        if state.debug:
            from ._debug import install_hooks

            install_hooks(client.http_client, state.redactor)
        try:
            yield client
        except AuthenticationError as exc:
            if exc.response is None or not exc.response.url.path.rstrip("/").endswith("/auth"):
                raise  # not the login: a token refused later says so itself
            from ._errors import CLIError, ExitCode

            where = {
                "config": f"the password saved for {creds.username} in {config_path()}",
                "environment": f"the password for {creds.username} in {_settings.ENV_PASSWORD}",
                "stdin": f"the password for {creds.username} read by --password-stdin",
                "prompt": f"the password typed for {creds.username}",
            }.get(creds.source or "", f"the password for {creds.username}")
            fix = {
                "config": "run 'dphi-em login --prompt --save' to replace it, or 'dphi-em logout'",
                "environment": f"correct or unset {_settings.ENV_PASSWORD}",
            }.get(creds.source or "", "check the user name and password")
            raise CLIError(
                f"authentication failed: the EM at {state.url_in_use} refused {where}: {fix}",
                ExitCode.AUTH,
            ) from exc


def one_call(call: Callable[[EMClient], T]) -> tuple[State, T]:
    """The run's state and what `call` returns on a client opened for it (then closed).

    For the commands that make one call and print its result (`nodes`, `volumes`, `logs`...).
    """
    state = get_state()
    with open_client(state) as em:
        return state, call(em)
