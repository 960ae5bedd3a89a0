"""Images: ``image build``, ``image load``, ``image ls``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from dphi_em import _settings

from ._common import checked_by, command, get_state, group, json_option, open_client, pod_option
from ._files import volume_label
from ._output import echo, info, print_json, printable, style, to_plain

F = TypeVar("F", bound=Callable[..., Any])


@group("image")
def image() -> None:
    """Build, load and list Docker images (built for arm64, from files in a volume)."""


def full_name(name: str, username: str | None) -> str:
    """The name the EM stores a built or loaded image under: ``<username>-<name>``."""
    return f"{username}-{name}" if username else name


def built_name(stored: str, username: str | None) -> str:
    """The name an image was built or loaded as (the EM lists ``<username>-<name>``)."""
    prefix = f"{username}-" if username else ""
    if prefix and stored.startswith(prefix) and len(stored) > len(prefix):
        return stored[len(prefix) :]
    return stored


def _run_hint(name: str, pod: str | None) -> str:
    """The command that runs a new image, on the volume it was made from."""
    return f"dphi-em run {name}" + (f" --pod {pod}" if pod else "")


def _check_image_name(value: str) -> str:
    from dphi_em._validate import check_image_name  # on use: the CLI starts faster

    return check_image_name(value)


_check_image = checked_by(_check_image_name)


def _image_option(help_text: str) -> Callable[[F], F]:
    """``--image NAME``, checked as the library checks it (before anything is sent)."""
    return click.option(
        "--image", "name", required=True, metavar="NAME", callback=_check_image, help=help_text
    )


@command("build", parent=image)
@click.argument("dockerfile", metavar="DOCKERFILE")
@_image_option("Name of the image (lowercase letters, digits, '.', '_', '-').")
@click.option(
    "--context",
    metavar="DIR",
    help="Build context, a folder in the volume [default: the Dockerfile's folder].",
)
@pod_option
@json_option
def build(dockerfile: str, name: str, context: str | None, pod: str | None) -> None:
    """Build an image from a DOCKERFILE already uplinked to a volume.

    The build is air-gapped: base images come from the onboard registry. On failure the
    end of the build log is shown.

    \b
    Example:
      dphi-em uplink ./echo-test --pod job1
      dphi-em image build echo-test/Dockerfile --image echo-test --pod job1
    """
    state = get_state()
    context = context or _settings.dockerfile_folder(dockerfile)
    with open_client(state) as em:
        info(
            f"Building {name} from {dockerfile} (context {context}, {volume_label(pod)})...",
            quiet=state.quiet or state.json,
        )
        message = em.image_build(dockerfile, name, context=context, pod_name=pod)
    if state.json:
        print_json(
            {
                "image": name,
                "full_name": full_name(name, state.username_in_use),
                "dockerfile": dockerfile,
                "context": context,
                "pod": pod,
                "message": message,
            }
        )
    elif not state.quiet:
        echo(f"Built image {style(name, bold=True)}. Run it with: {_run_hint(name, pod)}")


@command("load", parent=image)
@click.argument("tarfile", metavar="TAR")
@_image_option("Name of the image (the name the tar was saved with).")
@pod_option
@json_option
def load(tarfile: str, name: str, pod: str | None) -> None:
    """Load an image from a TAR file (docker save) already uplinked to a volume.

    \b
    Example:
      docker save my-image -o my-image.tar && dphi-em uplink my-image.tar
      dphi-em image load my-image.tar --image my-image
    """
    state = get_state()
    with open_client(state) as em:
        info(
            f"Loading {name} from {tarfile} ({volume_label(pod)})...",
            quiet=state.quiet or state.json,
        )
        message = em.image_load(tarfile, name, pod_name=pod)
    if state.json:
        print_json(
            {
                "image": name,
                "full_name": full_name(name, state.username_in_use),
                "tarfile": tarfile,
                "pod": pod,
                "message": message,
            }
        )
    elif not state.quiet:
        echo(f"Loaded image {style(name, bold=True)}. Run it with: {_run_hint(name, pod)}")


def _stored_name(item: Any) -> str:
    plain = to_plain(item)
    if isinstance(plain, dict):
        return str(plain.get("name") or plain.get("image") or plain.get("repository") or "")
    return str(plain)


@command("ls")
def image_ls() -> None:
    """List your own built and loaded images (public images are not listed; the onboard
    registry's base images: 'dphi-em emulator images list' against a local emulator).

    Each is shown by the name you built or loaded it as (what 'dphi-em run' takes); the EM
    stores it as <username>-<name>, given as full_name in --json.

    \b
    Example:
      dphi-em image ls --json
    """
    state = get_state()
    with open_client(state) as em:
        images = list(em.image_list())
    user = state.username_in_use
    docs = [
        {"name": built_name(stored, user), "full_name": stored}
        for stored in (_stored_name(item) for item in images)
    ]
    if state.json:
        print_json(docs)
        return
    if not docs:
        echo(style("(no images)", dim=True))
        echo(
            style(
                "Base images come from the onboard registry (FROM fpga.dphi.space:5000/NAME:TAG); "
                "against a local emulator, 'dphi-em emulator images list' shows them.",
                dim=True,
            )
        )
        return
    for doc in docs:
        echo(printable(doc["name"]))


image.add_command(image_ls)

COMMANDS = [image]
