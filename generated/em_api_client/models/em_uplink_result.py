from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="EmUplinkResult")


@_attrs_define
class EmUplinkResult:
    """
    Attributes:
        file_count (int):
        total_size_kb (float):
    """

    file_count: int
    total_size_kb: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        file_count = self.file_count

        total_size_kb = self.total_size_kb

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "file_count": file_count,
                "total_size_kb": total_size_kb,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        file_count = d.pop("file_count")

        total_size_kb = d.pop("total_size_kb")

        em_uplink_result = cls(
            file_count=file_count,
            total_size_kb=total_size_kb,
        )

        em_uplink_result.additional_properties = d
        return em_uplink_result

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
