"""Images: ``image build``, ``image load``, ``image ls``."""

from __future__ import annotations

import posixpath
from typing import Any

import click

from ._common import command, get_state, global_options, json_option, open_client, pod_option
from ._files import volume_label
from ._output import echo, info, print_json, printable, style, table, to_plain


@click.group("image")
@global_options(hidden=True)
def image() -> None:
    """Build, load and list Docker images (built for arm64, from files in a volume)."""


def _default_context(dockerfile: str) -> str:
    folder = posixpath.dirname(dockerfile.replace("\\", "/"))
    return folder or "."


@image.command("build")
@global_options(hidden=True)
@click.argument("dockerfile", metavar="DOCKERFILE")
@click.option("--image", "name", required=True, metavar="NAME", help="Name of the image.")
@click.option(
    "--context",
    metavar="DIR",
    help="Build context, a folder in the volume [default: the Dockerfile's folder].",
)
@pod_option
def build(dockerfile: str, name: str, context: str | None, pod: str | None) -> None:
    """Build an image from a DOCKERFILE already uplinked to a volume.

    The build is air-gapped: base images come from the onboard registry. On failure the
    end of the build log is shown.
    """
    state = get_state()
    context = context or _default_context(dockerfile)
    with open_client(state) as em:
        info(
            f"Building {name} from {dockerfile} (context {context}, {volume_label(pod)})...",
            quiet=state.quiet,
        )
        em.image_build(dockerfile, name, context=context, pod_name=pod)
    if not state.quiet:
        echo(f"Built image {style(name, bold=True)}. Run it with: dphi-em run {name}")


@image.command("load")
@global_options(hidden=True)
@click.argument("tarfile", metavar="TAR")
@click.option(
    "--image",
    "name",
    required=True,
    metavar="NAME",
    help="Name of the image (the name the tar was saved with).",
)
@pod_option
def load(tarfile: str, name: str, pod: str | None) -> None:
    """Load an image from a TAR file (docker save) already uplinked to a volume."""
    state = get_state()
    with open_client(state) as em:
        info(f"Loading {name} from {tarfile} ({volume_label(pod)})...", quiet=state.quiet)
        em.image_load(tarfile, name, pod_name=pod)
    if not state.quiet:
        echo(f"Loaded image {style(name, bold=True)}. Run it with: dphi-em run {name}")


def _image_row(item: Any) -> list[str]:
    plain = to_plain(item)
    if isinstance(plain, dict):
        name = plain.get("name") or plain.get("image") or plain.get("repository") or ""
        extra = " ".join(
            f"{k}={v}" for k, v in plain.items() if k not in ("name", "image", "repository")
        )
        return [str(name), extra]
    return [str(plain), ""]


@command("ls")
@json_option
def image_ls() -> None:
    """List your own built and loaded images (public images are not listed)."""
    state = get_state()
    with open_client(state) as em:
        images = list(em.image_list())
    if state.json:
        print_json(images)
        return
    if not images:
        echo(style("(no images)", dim=True))
        return
    rows = [_image_row(item) for item in images]
    if any(extra for _, extra in rows):
        for line in table(["IMAGE", "DETAILS"], rows):
            echo(line)
    else:
        for name, _ in rows:
            echo(printable(name))


image.add_command(image_ls)

COMMANDS = [image]
