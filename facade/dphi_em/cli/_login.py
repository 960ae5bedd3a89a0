"""``login``: check the credentials, and with ``--save`` keep them in the config file."""

from __future__ import annotations

import click

from ._common import command, get_state, open_client
from ._config import DEFAULT_URL, SavedConfig, config_path, save_config
from ._output import echo, style


@command("login", public_globals=True)
@click.option(
    "--save",
    is_flag=True,
    help="Keep URL, user name and password in the config file (mode 0600) for later commands.",
)
def login(save: bool) -> None:
    """Log in to the EM to check the credentials (asks for what is missing).

    The password is read from --password-stdin, DPHI_EM_PASSWORD, the config file or a
    prompt; never pass it as an argument. With --save it is stored in the config file.
    """
    state = get_state()
    creds = state.resolver.resolve(prompt=True)
    with open_client(state, creds=creds) as em:
        em.get_token()
    url = creds.url or DEFAULT_URL
    if not state.quiet:
        echo(f"Logged in to {url} as {style(creds.username, bold=True)}.")
    if save:
        path = save_config(
            SavedConfig(url=creds.url, username=creds.username, password=creds.password),
            config_path(),
        )
        if not state.quiet:
            echo(f"Saved the credentials to {path} (readable by you only).")


COMMANDS = [login]
