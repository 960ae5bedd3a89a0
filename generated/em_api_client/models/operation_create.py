from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..models.operation_create_node import OperationCreateNode
from ..types import UNSET, Unset

T = TypeVar("T", bound="OperationCreate")


@_attrs_define
class OperationCreate:
    """
    Attributes:
        name (str):
        description (str):
        execution_date (datetime.date):
        max_execution_time (int):
        payload (int):
        node (OperationCreateNode | Unset):
        files_to_uplink (list[str] | Unset):
        files_to_downlink (list[str] | Unset):
        files_to_delete (list[str] | Unset):
    """

    name: str
    description: str
    execution_date: datetime.date
    max_execution_time: int
    payload: int
    node: OperationCreateNode | Unset = UNSET
    files_to_uplink: list[str] | Unset = UNSET
    files_to_downlink: list[str] | Unset = UNSET
    files_to_delete: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        description = self.description

        execution_date = self.execution_date.isoformat()

        max_execution_time = self.max_execution_time

        payload = self.payload

        node: str | Unset = UNSET
        if not isinstance(self.node, Unset):
            node = self.node.value

        files_to_uplink: list[str] | Unset = UNSET
        if not isinstance(self.files_to_uplink, Unset):
            files_to_uplink = self.files_to_uplink

        files_to_downlink: list[str] | Unset = UNSET
        if not isinstance(self.files_to_downlink, Unset):
            files_to_downlink = self.files_to_downlink

        files_to_delete: list[str] | Unset = UNSET
        if not isinstance(self.files_to_delete, Unset):
            files_to_delete = self.files_to_delete

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "description": description,
                "execution_date": execution_date,
                "max_execution_time": max_execution_time,
                "payload": payload,
            }
        )
        if node is not UNSET:
            field_dict["node"] = node
        if files_to_uplink is not UNSET:
            field_dict["files_to_uplink"] = files_to_uplink
        if files_to_downlink is not UNSET:
            field_dict["files_to_downlink"] = files_to_downlink
        if files_to_delete is not UNSET:
            field_dict["files_to_delete"] = files_to_delete

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description")

        execution_date = isoparse(d.pop("execution_date")).date()

        max_execution_time = d.pop("max_execution_time")

        payload = d.pop("payload")

        _node = d.pop("node", UNSET)
        node: OperationCreateNode | Unset
        if isinstance(_node, Unset):
            node = UNSET
        else:
            node = OperationCreateNode(_node)

        files_to_uplink = cast(list[str], d.pop("files_to_uplink", UNSET))

        files_to_downlink = cast(list[str], d.pop("files_to_downlink", UNSET))

        files_to_delete = cast(list[str], d.pop("files_to_delete", UNSET))

        operation_create = cls(
            name=name,
            description=description,
            execution_date=execution_date,
            max_execution_time=max_execution_time,
            payload=payload,
            node=node,
            files_to_uplink=files_to_uplink,
            files_to_downlink=files_to_downlink,
            files_to_delete=files_to_delete,
        )

        operation_create.additional_properties = d
        return operation_create

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
