"""``telemetry``: the satellite's telemetry service, from the ground against the emulator.

Pods reach the service at ``http://satellite-telemetry.dphi-tm``; the ground cannot. The
emulator also serves it at an emulator-only ground address (printed when it starts; port
8100 by default), which these commands use unless ``--tlm-url`` or ``DPHI_TLM_URL`` say
otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._common import command, get_state, group, json_option
from ._output import echo, print_json

if TYPE_CHECKING:
    from dphi_em.telemetry import TelemetryClient

#: The emulator command's ground address for the service (`--telemetry-port`, default 8100).
GROUND_URL = "http://127.0.0.1:8100"


def _url_option(f: click.decorators.FC) -> click.decorators.FC:
    return click.option(
        "--tlm-url",
        metavar="URL",
        help=f"The service's address [default: DPHI_TLM_URL, else {GROUND_URL}, the "
        "emulator's ground address].",
    )(f)


@contextmanager
def _client(url: str | None) -> Iterator[TelemetryClient]:
    from dphi_em.telemetry import TelemetryClient

    with TelemetryClient(url or os.environ.get("DPHI_TLM_URL") or GROUND_URL) as tlm:
        yield tlm


@group("telemetry")
def telemetry() -> None:
    """The satellite's telemetry service (against the emulator's ground address)."""


@command("latest", parent=telemetry)
@click.option("--type", "data_type", metavar="TYPE", help="Only this data type.")
@_url_option
@json_option
def latest(data_type: str | None, tlm_url: str | None) -> None:
    """Show the latest record of each data type (position km, velocity km/s, ...).

    \b
    Example:
      dphi-em telemetry latest --type complete --json
    """
    with _client(tlm_url) as tlm:
        records = tlm.latest(data_type)
    if get_state().json:
        print_json(records)
        return
    for record in records:
        parts = [f"{record.timestamp.isoformat()}  {record.data_type:<11}"]
        if record.position is not None:
            p = record.position
            parts.append(f"position ({p.x:.3f}, {p.y:.3f}, {p.z:.3f}) km |r|={p.norm:.1f}")
        if record.velocity is not None:
            parts.append(f"|v|={record.velocity.norm:.4f} km/s")
        if record.attitude is not None and record.attitude.quaternion is not None:
            q = record.attitude.quaternion
            parts.append(f"q=({q.w:.4f}, {q.x:.4f}, {q.y:.4f}, {q.z:.4f})")
        if record.power is not None and record.power.in_sunlight is not None:
            parts.append("sunlit" if record.power.in_sunlight else "eclipse")
        if record.temperature is not None:
            values = ", ".join(f"{v:.1f}" for v in record.temperature.sensors.values())
            parts.append(f"temperatures [{values}]")
        echo("  ".join(parts))


@command("tle", parent=telemetry)
@_url_option
@json_option
def tle(tlm_url: str | None) -> None:
    """Show the satellite's latest two-line element set.

    \b
    Example:
      dphi-em telemetry tle > orbit.tle
    """
    with _client(tlm_url) as tlm:
        found = tlm.tle()
    if get_state().json:
        print_json(found)
        return
    if found.name:
        echo(found.name)
    echo(found.line1)
    echo(found.line2)


@command("images", parent=telemetry)
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option(
    "--download",
    "dest",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Download the NAMEs (or the first --limit images) into DIR.",
)
@click.option("--limit", type=click.IntRange(1, 100), help="At most this many images.")
@click.option("--overwrite", is_flag=True, help="Replace images already in DIR.")
@_url_option
@json_option
def images(
    names: tuple[str, ...],
    dest: Path | None,
    limit: int | None,
    overwrite: bool,
    tlm_url: str | None,
) -> None:
    """List the fisheye camera's images, or download some with --download DIR.

    \b
    Examples:
      dphi-em telemetry images
      dphi-em telemetry images --download shots --limit 3
      dphi-em telemetry images 20230606.png --download shots
    """
    with _client(tlm_url) as tlm:
        if dest is None:
            found = tlm.image_names()
            shown = found[:limit] if limit else found
            if get_state().json:
                print_json(shown)
            else:
                for name in shown:
                    echo(name)
            return
        written = tlm.download_images(
            list(names) or None, limit=limit, dest=dest, overwrite=overwrite
        )
    if get_state().json:
        print_json([str(p) for p in written])
        return
    for path in written:
        echo(str(path))


COMMANDS = [telemetry]
