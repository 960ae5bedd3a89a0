from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..types import UNSET, File, Unset

T = TypeVar("T", bound="EmUplinkRequest")


@_attrs_define
class EmUplinkRequest:
    """
    Attributes:
        files (list[File]): One part per file (the part's file name is the name on the volume).
        dest_path (str | Unset): Folder relative to the volume root (a leading / is the root); empty means the root.
        pod_name (None | str | Unset): A pod name, which is also the name of its persistent volume: a Kubernetes object
            name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters).
            Empty or null means the default pod and volume.
        pvc_name (None | str | Unset): A volume ("persistent volume claim") name, January 2026 revision (taken from the
            vendor's client, not its spec): the same rules as a pod name. Empty or null means the default volume. An EM of
            the November 2025 revision ignores the field.
    """

    files: list[File]
    dest_path: str | Unset = UNSET
    pod_name: None | str | Unset = UNSET
    pvc_name: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        files = []
        for files_item_data in self.files:
            files_item = files_item_data.to_tuple()

            files.append(files_item)

        dest_path = self.dest_path

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
                "files": files,
            }
        )
        if dest_path is not UNSET:
            field_dict["dest_path"] = dest_path
        if pod_name is not UNSET:
            field_dict["pod_name"] = pod_name
        if pvc_name is not UNSET:
            field_dict["pvc_name"] = pvc_name

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        for files_item_element in self.files:
            files.append(("files", files_item_element.to_tuple()))

        if not isinstance(self.dest_path, Unset):
            files.append(
                ("dest_path", (None, str(self.dest_path).encode(), "text/plain"))
            )

        if not isinstance(self.pod_name, Unset):
            if isinstance(self.pod_name, str):
                files.append(
                    ("pod_name", (None, str(self.pod_name).encode(), "text/plain"))
                )
            else:
                files.append(
                    ("pod_name", (None, str(self.pod_name).encode(), "text/plain"))
                )

        if not isinstance(self.pvc_name, Unset):
            if isinstance(self.pvc_name, str):
                files.append(
                    ("pvc_name", (None, str(self.pvc_name).encode(), "text/plain"))
                )
            else:
                files.append(
                    ("pvc_name", (None, str(self.pvc_name).encode(), "text/plain"))
                )

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        files = []
        _files = d.pop("files")
        for files_item_data in _files:
            files_item = File(payload=BytesIO(files_item_data))

            files.append(files_item)

        dest_path = d.pop("dest_path", UNSET)

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

        em_uplink_request = cls(
            files=files,
            dest_path=dest_path,
            pod_name=pod_name,
            pvc_name=pvc_name,
        )

        em_uplink_request.additional_properties = d
        return em_uplink_request

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
