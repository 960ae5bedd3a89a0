"""``login`` checks the credentials (``--save`` keeps them); ``logout`` forgets the password."""

from __future__ import annotations

from typing import Any

import click

from ._common import command, get_state, open_client
from ._config import DEFAULT_URL, SavedConfig, config_path, load_config, save_config
from ._errors import CLIError, ExitCode
from ._output import echo, info, print_json, style


@command("login", public_globals=True)
@click.option(
    "--save",
    is_flag=True,
    help="Keep URL, user name and password in the config file (mode 0600) for later commands.",
)
@click.option(
    "--prompt",
    "ask",
    is_flag=True,
    help="Ask for the password even if one is saved (to replace a changed password).",
)
def login(save: bool, ask: bool) -> None:
    """Log in to the EM to check the credentials (asks for what is missing).

    The password is read from --password-stdin, DPHI_EM_PASSWORD, the config file or a
    prompt; never pass it as an argument. With --save it is stored in the config file.
    A saved password that the EM refuses is not used again: login asks for a new one, and
    other commands say to run 'dphi-em login --prompt --save'.

    \b
    Examples:
      dphi-em --url http://em.example:8000/ -u client1 login --save
      dphi-em login --prompt --save      # the password changed
    """
    from dphi_em import AuthenticationError

    state = get_state()
    creds = state.resolver.resolve(prompt=True, saved_password=not ask)
    try:
        with open_client(state, creds=creds) as em:
            em.get_token()
    except CLIError as exc:  # the saved password was refused
        if not isinstance(exc.__cause__, AuthenticationError) or creds.source != "config":
            raise
        info(f"The EM refused the password saved for {creds.username}.", quiet=False)
        creds = state.resolver.resolve(prompt=True, saved_password=False)
        with open_client(state, creds=creds) as em:
            em.get_token()
    url = creds.url or DEFAULT_URL
    saved_to = None
    if save:
        saved_to = save_config(
            SavedConfig(url=creds.url, username=creds.username, password=creds.password),
            config_path(),
        )
    if state.json:
        print_json(
            {
                "url": url,
                "username": creds.username,
                "saved": str(saved_to) if saved_to else None,
            }
        )
        return
    if not state.quiet:
        echo(f"Logged in to {url} as {style(creds.username, bold=True)}.")
        if saved_to:
            echo(f"Saved the credentials to {saved_to} (readable by you only).")


@command("logout")
@click.option(
    "--all",
    "forget_all",
    is_flag=True,
    help="Delete the whole config file (URL and user name too).",
)
def logout(forget_all: bool) -> None:
    """Forget the password saved by 'login --save' (the URL and user name stay).

    Nothing is sent to the EM: its tokens expire on their own.

    \b
    Examples:
      dphi-em logout
      dphi-em logout --all      # delete the config file
    """
    state = get_state()
    path = config_path()
    doc: dict[str, Any] = {"config": str(path), "password_removed": False, "file_removed": False}
    if forget_all:
        try:
            path.unlink()
            doc["file_removed"] = True
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise CLIError(f"cannot delete {path}: {exc.strerror}", ExitCode.USAGE) from None
        message = f"Deleted {path}." if doc["file_removed"] else f"No config file at {path}."
    else:
        saved = load_config(path)
        if saved.password is None:
            message = f"No saved password in {path}."
        else:
            if saved.url is None and saved.username is None:
                path.unlink()
                doc["file_removed"] = True
            else:
                save_config(SavedConfig(url=saved.url, username=saved.username), path)
            doc["password_removed"] = True
            who = saved.username or "(no user)"
            message = f"Forgot the password saved for {who} in {path}."
    if state.json:
        print_json(doc)
    elif not state.quiet:
        echo(message)


COMMANDS = [login, logout]
