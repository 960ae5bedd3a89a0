"""Pod names (which are also volume names) and the `Pod` handle bound to one of them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ValidationError

if TYPE_CHECKING:
    from em_api_client.models import EmFileNode

    from ._client import EMClient, ProgressArg
    from ._models import PodState, UplinkResult

__all__ = ["POD_NAME_RULE", "Pod", "validate_pod_name"]

#: The Kubernetes object-name rule (DNS-1123 label) pod names must follow.
POD_NAME_RULE = (
    "lowercase letters, digits and '-', starting and ending with a letter or digit, "
    "at most 63 characters"
)
_POD_NAME = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")


def validate_pod_name(pod_name: str | None) -> str | None:
    """Check a pod name; None or "" mean the default pod and volume (returned as None).

    Raises:
        ValidationError: Not a valid name; the message names the value and the rule.
    """
    if pod_name is None or pod_name == "":
        return None
    if not isinstance(pod_name, str):
        raise ValidationError(f"pod_name must be a string, not {type(pod_name).__name__}")
    if not _POD_NAME.fullmatch(pod_name):
        raise ValidationError(f"Invalid pod_name {pod_name!r}: use {POD_NAME_RULE}.")
    return pod_name


class Pod:
    """A handle bound to one pod name, i.e. to one pod and its persistent volume.

    Every method is the `EMClient` method of the same name with `pod_name` filled in.

    Args:
        client: The client that sends the requests.
        name: The pod name (validated here).
    """

    __slots__ = ("_client", "_name")

    def __init__(self, client: EMClient, name: str) -> None:
        checked = validate_pod_name(name)
        if checked is None:
            raise ValidationError(f"Invalid pod_name {name!r}: a Pod handle needs a name.")
        self._client = client
        self._name = checked

    @property
    def name(self) -> str:
        """The pod name."""
        return self._name

    def __repr__(self) -> str:
        return f"Pod({self._name!r})"

    def uplink(
        self,
        filepaths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        dest_path: str = "",
        *,
        progress: ProgressArg = None,
    ) -> UplinkResult:
        """Uplink files or folders into this pod's volume (see `EMClient.uplink`)."""
        return self._client.uplink(filepaths, dest_path, pod_name=self._name, progress=progress)

    def files_list(self) -> list[EmFileNode]:
        """The file tree of this pod's volume (see `EMClient.files_list`)."""
        return self._client.files_list(pod_name=self._name)

    def downlink(
        self,
        filepath: str,
        downlink_folder: str | os.PathLike[str] = "downlink/",
        *,
        overwrite: bool = False,
        progress: ProgressArg = None,
    ) -> Path:
        """Downlink a file of this pod's volume (see `EMClient.downlink`)."""
        return self._client.downlink(
            filepath, downlink_folder, pod_name=self._name, overwrite=overwrite, progress=progress
        )

    def delete(self, filepath: str) -> str:
        """Delete a file or folder of this pod's volume (see `EMClient.delete`)."""
        return self._client.delete(filepath, pod_name=self._name)

    def image_build(self, dockerfile: str, image: str, context: str = ".") -> str:
        """Build an image from this pod's volume (see `EMClient.image_build`)."""
        return self._client.image_build(dockerfile, image, context, pod_name=self._name)

    def image_load(self, tarfile: str, image: str) -> str:
        """Load an image tar from this pod's volume (see `EMClient.image_load`)."""
        return self._client.image_load(tarfile, image, pod_name=self._name)

    def run(
        self,
        image: str,
        node: str = "FPGA",
        max_duration: int = 1,
        command: str | None = None,
        scheduled_time: datetime | str | None = None,
        ports: Sequence[int] | None = None,
        namespace: bool = False,
        args: Sequence[str] | None = None,
        envs: Mapping[str, Any] | None = None,
    ) -> str:
        """Run this pod (see `EMClient.run`)."""
        return self._client.run(
            image,
            node=node,
            max_duration=max_duration,
            command=command,
            scheduled_time=scheduled_time,
            pod_name=self._name,
            ports=ports,
            namespace=namespace,
            args=args,
            envs=envs,
        )

    def status(self) -> PodState:
        """This pod's state (see `EMClient.pod_status`)."""
        return self._client.pod_status(pod_name=self._name)

    def wait(
        self,
        until: str = "running",
        timeout: float | None = None,
        poll_interval: float | None = None,
    ) -> PodState:
        """Wait for this pod (see `EMClient.wait_for_pod`)."""
        return self._client.wait_for_pod(
            self._name, until=until, timeout=timeout, poll_interval=poll_interval
        )
