from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.em_file_node_type import EmFileNodeType
from ..types import UNSET, Unset

T = TypeVar("T", bound="EmFileNode")


@_attrs_define
class EmFileNode:
    """A file or a directory of a volume; directories nest their entries under contents.

    Attributes:
        type_ (EmFileNodeType):
        name (str):
        size (str | Unset): Size in bytes, as a string.
        time (str | Unset): Modification time, YYYY-MM-DD-HH-MM.
        hash_ (int | Unset): A signed 64-bit hash (files only).
        contents (list[EmFileNode] | Unset):
    """

    type_: EmFileNodeType
    name: str
    size: str | Unset = UNSET
    time: str | Unset = UNSET
    hash_: int | Unset = UNSET
    contents: list[EmFileNode] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_.value

        name = self.name

        size = self.size

        time = self.time

        hash_ = self.hash_

        contents: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.contents, Unset):
            contents = []
            for contents_item_data in self.contents:
                contents_item = contents_item_data.to_dict()
                contents.append(contents_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "name": name,
            }
        )
        if size is not UNSET:
            field_dict["size"] = size
        if time is not UNSET:
            field_dict["time"] = time
        if hash_ is not UNSET:
            field_dict["hash"] = hash_
        if contents is not UNSET:
            field_dict["contents"] = contents

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = EmFileNodeType(d.pop("type"))

        name = d.pop("name")

        size = d.pop("size", UNSET)

        time = d.pop("time", UNSET)

        hash_ = d.pop("hash", UNSET)

        _contents = d.pop("contents", UNSET)
        contents: list[EmFileNode] | Unset = UNSET
        if _contents is not UNSET:
            contents = []
            for contents_item_data in _contents:
                contents_item = EmFileNode.from_dict(contents_item_data)

                contents.append(contents_item)

        em_file_node = cls(
            type_=type_,
            name=name,
            size=size,
            time=time,
            hash_=hash_,
            contents=contents,
        )

        em_file_node.additional_properties = d
        return em_file_node

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
