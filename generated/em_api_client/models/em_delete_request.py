from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EmDeleteRequest")


@_attrs_define
class EmDeleteRequest:
    """
    Attributes:
        filepath (str): A file or folder relative to the volume root (a leading / is the root).
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent volume: a Kubernetes object
            name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters).
            Empty or null means the default pod and volume.
        pvc_name (None | str | Unset): A volume ("persistent volume claim") name, January 2026 revision (taken from the
            vendor's client, not its spec): the same rules as a pod name. Empty or null means the default volume. An EM of
            the November 2025 revision ignores the field.
    """

    filepath: str
    pod_name: None | str | Unset = UNSET
    pvc_name: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        filepath = self.filepath

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
                "filepath": filepath,
            }
        )
        if pod_name is not UNSET:
            field_dict["pod_name"] = pod_name
        if pvc_name is not UNSET:
            field_dict["pvc_name"] = pvc_name

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        filepath = d.pop("filepath")

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

        em_delete_request = cls(
            filepath=filepath,
            pod_name=pod_name,
            pvc_name=pvc_name,
        )

        em_delete_request.additional_properties = d
        return em_delete_request

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
