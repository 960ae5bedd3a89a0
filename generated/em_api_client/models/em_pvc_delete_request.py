from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="EmPvcDeleteRequest")


@_attrs_define
class EmPvcDeleteRequest:
    """The body of POST /em/pvc/delete (January 2026 revision, taken from the vendor's client, not its spec).

    Attributes:
        pvc_name (str): The volume to delete (the default volume can't be; its files can).
    """

    pvc_name: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pvc_name = self.pvc_name

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pvc_name": pvc_name,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        pvc_name = d.pop("pvc_name")

        em_pvc_delete_request = cls(
            pvc_name=pvc_name,
        )

        em_pvc_delete_request.additional_properties = d
        return em_pvc_delete_request

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
