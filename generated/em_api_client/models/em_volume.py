from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EmVolume")


@_attrs_define
class EmVolume:
    """One of the user's volumes (January 2026 revision, taken from the vendor's client, not its spec; the answer is
    unpublished: only name is assumed, the rest is what the emulator reports).

        Attributes:
            name (str): The pvc_name that addresses the volume; empty for the default volume.
            default (bool | Unset): Whether this is the default volume (it can't be deleted).
            size (int | Unset): Bytes of its files.
            file_count (int | Unset): How many files it holds (folders not counted).
    """

    name: str
    default: bool | Unset = UNSET
    size: int | Unset = UNSET
    file_count: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        default = self.default

        size = self.size

        file_count = self.file_count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
            }
        )
        if default is not UNSET:
            field_dict["default"] = default
        if size is not UNSET:
            field_dict["size"] = size
        if file_count is not UNSET:
            field_dict["file_count"] = file_count

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        default = d.pop("default", UNSET)

        size = d.pop("size", UNSET)

        file_count = d.pop("file_count", UNSET)

        em_volume = cls(
            name=name,
            default=default,
            size=size,
            file_count=file_count,
        )

        em_volume.additional_properties = d
        return em_volume

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
