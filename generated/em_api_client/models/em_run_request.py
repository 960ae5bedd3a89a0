from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..models.em_node_type import EmNodeType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.em_run_request_envs_type_0 import EmRunRequestEnvsType0


T = TypeVar("T", bound="EmRunRequest")


@_attrs_define
class EmRunRequest:
    """
    Attributes:
        image (str): An image of the user's (built or loaded) or a public one.
        max_duration (int): Minutes after start when the pod is stopped (the upper bound, some 1,900 years, is ours).
        node (EmNodeType | Unset): The CG2 node that runs a pod. Default: EmNodeType.FPGA.
        scheduled_time (datetime.datetime | None | Unset): ISO 8601 with a time zone, e.g. 2025-05-22T12:10:00+02:00;
            absent means now.
        command (None | str | Unset): Overrides the image's default command.
        args (list[str] | None | Unset):
        envs (EmRunRequestEnvsType0 | None | Unset):
        ports (list[int] | None | Unset): Ports exposed to the user's other pods: in the namespace (November 2025), or
            by pod name (January 2026).
        namespace (bool | Unset): Run inside the user's private namespace. November 2025 revision only: the January 2026
            revision has no namespaces (pods reach each other by pod name). Default: False.
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent volume: a Kubernetes object
            name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters).
            Empty or null means the default pod and volume.
        pvc_name (None | str | Unset): A volume ("persistent volume claim") name, January 2026 revision (taken from the
            vendor's client, not its spec): the same rules as a pod name. Empty or null means the default volume. An EM of
            the November 2025 revision ignores the field.
    """

    image: str
    max_duration: int
    node: EmNodeType | Unset = EmNodeType.FPGA
    scheduled_time: datetime.datetime | None | Unset = UNSET
    command: None | str | Unset = UNSET
    args: list[str] | None | Unset = UNSET
    envs: EmRunRequestEnvsType0 | None | Unset = UNSET
    ports: list[int] | None | Unset = UNSET
    namespace: bool | Unset = False
    pod_name: None | str | Unset = UNSET
    pvc_name: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.em_run_request_envs_type_0 import EmRunRequestEnvsType0

        image = self.image

        max_duration = self.max_duration

        node: str | Unset = UNSET
        if not isinstance(self.node, Unset):
            node = self.node.value

        scheduled_time: None | str | Unset
        if isinstance(self.scheduled_time, Unset):
            scheduled_time = UNSET
        elif isinstance(self.scheduled_time, datetime.datetime):
            scheduled_time = self.scheduled_time.isoformat()
        else:
            scheduled_time = self.scheduled_time

        command: None | str | Unset
        if isinstance(self.command, Unset):
            command = UNSET
        else:
            command = self.command

        args: list[str] | None | Unset
        if isinstance(self.args, Unset):
            args = UNSET
        elif isinstance(self.args, list):
            args = self.args

        else:
            args = self.args

        envs: dict[str, Any] | None | Unset
        if isinstance(self.envs, Unset):
            envs = UNSET
        elif isinstance(self.envs, EmRunRequestEnvsType0):
            envs = self.envs.to_dict()
        else:
            envs = self.envs

        ports: list[int] | None | Unset
        if isinstance(self.ports, Unset):
            ports = UNSET
        elif isinstance(self.ports, list):
            ports = self.ports

        else:
            ports = self.ports

        namespace = self.namespace

        pod_name: None | str | Unset
        if isinstance(self.pod_name, Unset):
            pod_name = UNSET
        else:
            pod_name = self.pod_name

        pvc_name: None | str | Unset
        if isinstance(self.pvc_name, Unset):
            pvc_name = UNSET
        else:
            pvc_name = self.pvc_name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "image": image,
                "max_duration": max_duration,
            }
        )
        if node is not UNSET:
            field_dict["node"] = node
        if scheduled_time is not UNSET:
            field_dict["scheduled_time"] = scheduled_time
        if command is not UNSET:
            field_dict["command"] = command
        if args is not UNSET:
            field_dict["args"] = args
        if envs is not UNSET:
            field_dict["envs"] = envs
        if ports is not UNSET:
            field_dict["ports"] = ports
        if namespace is not UNSET:
            field_dict["namespace"] = namespace
        if pod_name is not UNSET:
            field_dict["pod_name"] = pod_name
        if pvc_name is not UNSET:
            field_dict["pvc_name"] = pvc_name

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.em_run_request_envs_type_0 import EmRunRequestEnvsType0

        d = dict(src_dict)
        image = d.pop("image")

        max_duration = d.pop("max_duration")

        _node = d.pop("node", UNSET)
        node: EmNodeType | Unset
        if isinstance(_node, Unset):
            node = UNSET
        else:
            node = EmNodeType(_node)

        def _parse_scheduled_time(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                scheduled_time_type_0 = isoparse(data)

                return scheduled_time_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        scheduled_time = _parse_scheduled_time(d.pop("scheduled_time", UNSET))

        def _parse_command(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        command = _parse_command(d.pop("command", UNSET))

        def _parse_args(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                args_type_0 = cast(list[str], data)

                return args_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        args = _parse_args(d.pop("args", UNSET))

        def _parse_envs(data: object) -> EmRunRequestEnvsType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                envs_type_0 = EmRunRequestEnvsType0.from_dict(data)

                return envs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EmRunRequestEnvsType0 | None | Unset, data)

        envs = _parse_envs(d.pop("envs", UNSET))

        def _parse_ports(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                ports_type_0 = cast(list[int], data)

                return ports_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        ports = _parse_ports(d.pop("ports", UNSET))

        namespace = d.pop("namespace", UNSET)

        def _parse_pod_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        pod_name = _parse_pod_name(d.pop("pod_name", UNSET))

        def _parse_pvc_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        pvc_name = _parse_pvc_name(d.pop("pvc_name", UNSET))

        em_run_request = cls(
            image=image,
            max_duration=max_duration,
            node=node,
            scheduled_time=scheduled_time,
            command=command,
            args=args,
            envs=envs,
            ports=ports,
            namespace=namespace,
            pod_name=pod_name,
            pvc_name=pvc_name,
        )

        em_run_request.additional_properties = d
        return em_run_request

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
