from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..models.operation_node import OperationNode
from ..models.operation_status import OperationStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="Operation")


@_attrs_define
class Operation:
    """
    Attributes:
        name (str):
        description (str):
        execution_date (datetime.date):
        snapshot (str):
        max_execution_time (int):
        payload (int):
        status (OperationStatus | Unset):
        node (OperationNode | Unset):
        uplink_used (int | None | Unset):
        pure_downlink (bool | Unset):
        id (int | Unset):
        files (str | Unset):
        downlink_used (int | None | Unset):
        mpu_used (int | None | Unset):
        fpga_used (int | None | Unset):
        gpu_used (int | None | Unset):
        power_used (int | None | Unset):
    """

    name: str
    description: str
    execution_date: datetime.date
    snapshot: str
    max_execution_time: int
    payload: int
    status: OperationStatus | Unset = UNSET
    node: OperationNode | Unset = UNSET
    uplink_used: int | None | Unset = UNSET
    pure_downlink: bool | Unset = UNSET
    id: int | Unset = UNSET
    files: str | Unset = UNSET
    downlink_used: int | None | Unset = UNSET
    mpu_used: int | None | Unset = UNSET
    fpga_used: int | None | Unset = UNSET
    gpu_used: int | None | Unset = UNSET
    power_used: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        execution_date = self.execution_date.isoformat()

        snapshot = self.snapshot

        max_execution_time = self.max_execution_time

        payload = self.payload

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status.value

        node: str | Unset = UNSET
        if not isinstance(self.node, Unset):
            node = self.node.value

        uplink_used: int | None | Unset
        if isinstance(self.uplink_used, Unset):
            uplink_used = UNSET
        else:
            uplink_used = self.uplink_used

        pure_downlink = self.pure_downlink

        id = self.id

        files = self.files

        downlink_used: int | None | Unset
        if isinstance(self.downlink_used, Unset):
            downlink_used = UNSET
        else:
            downlink_used = self.downlink_used

        mpu_used: int | None | Unset
        if isinstance(self.mpu_used, Unset):
            mpu_used = UNSET
        else:
            mpu_used = self.mpu_used

        fpga_used: int | None | Unset
        if isinstance(self.fpga_used, Unset):
            fpga_used = UNSET
        else:
            fpga_used = self.fpga_used

        gpu_used: int | None | Unset
        if isinstance(self.gpu_used, Unset):
            gpu_used = UNSET
        else:
            gpu_used = self.gpu_used

        power_used: int | None | Unset
        if isinstance(self.power_used, Unset):
            power_used = UNSET
        else:
            power_used = self.power_used

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "description": description,
                "execution_date": execution_date,
                "snapshot": snapshot,
                "max_execution_time": max_execution_time,
                "payload": payload,
            }
        )
        if status is not UNSET:
            field_dict["status"] = status
        if node is not UNSET:
            field_dict["node"] = node
        if uplink_used is not UNSET:
            field_dict["uplink_used"] = uplink_used
        if pure_downlink is not UNSET:
            field_dict["pure_downlink"] = pure_downlink
        if id is not UNSET:
            field_dict["id"] = id
        if files is not UNSET:
            field_dict["files"] = files
        if downlink_used is not UNSET:
            field_dict["downlink_used"] = downlink_used
        if mpu_used is not UNSET:
            field_dict["mpu_used"] = mpu_used
        if fpga_used is not UNSET:
            field_dict["fpga_used"] = fpga_used
        if gpu_used is not UNSET:
            field_dict["gpu_used"] = gpu_used
        if power_used is not UNSET:
            field_dict["power_used"] = power_used

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description")

        execution_date = isoparse(d.pop("execution_date")).date()

        snapshot = d.pop("snapshot")

        max_execution_time = d.pop("max_execution_time")

        payload = d.pop("payload")

        _status = d.pop("status", UNSET)
        status: OperationStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = OperationStatus(_status)

        _node = d.pop("node", UNSET)
        node: OperationNode | Unset
        if isinstance(_node, Unset):
            node = UNSET
        else:
            node = OperationNode(_node)

        def _parse_uplink_used(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        uplink_used = _parse_uplink_used(d.pop("uplink_used", UNSET))

        pure_downlink = d.pop("pure_downlink", UNSET)

        id = d.pop("id", UNSET)

        files = d.pop("files", UNSET)

        def _parse_downlink_used(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        downlink_used = _parse_downlink_used(d.pop("downlink_used", UNSET))

        def _parse_mpu_used(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        mpu_used = _parse_mpu_used(d.pop("mpu_used", UNSET))

        def _parse_fpga_used(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        fpga_used = _parse_fpga_used(d.pop("fpga_used", UNSET))

        def _parse_gpu_used(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        gpu_used = _parse_gpu_used(d.pop("gpu_used", UNSET))

        def _parse_power_used(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        power_used = _parse_power_used(d.pop("power_used", UNSET))

        operation = cls(
            name=name,
            description=description,
            execution_date=execution_date,
            snapshot=snapshot,
            max_execution_time=max_execution_time,
            payload=payload,
            status=status,
            node=node,
            uplink_used=uplink_used,
            pure_downlink=pure_downlink,
            id=id,
            files=files,
            downlink_used=downlink_used,
            mpu_used=mpu_used,
            fpga_used=fpga_used,
            gpu_used=gpu_used,
            power_used=power_used,
        )

        operation.additional_properties = d
        return operation

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
