from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EmError")


@_attrs_define
class EmError:
    """The error envelope of the EM operations.

    Attributes:
        error (str): A machine-readable code, e.g. NO_FILES, MAX_UPLINK_SIZE_EXCEEDED, BUILD_FAILED, IMAGE_LOAD_FAILED.
        message (str):
        log_tail (list[str] | Unset): The last lines of the build or load log (build and load failures only).
    """

    error: str
    message: str
    log_tail: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error

        message = self.message

        log_tail: list[str] | Unset = UNSET
        if not isinstance(self.log_tail, Unset):
            log_tail = self.log_tail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "message": message,
            }
        )
        if log_tail is not UNSET:
            field_dict["log_tail"] = log_tail

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        error = d.pop("error")

        message = d.pop("message")

        log_tail = cast(list[str], d.pop("log_tail", UNSET))

        em_error = cls(
            error=error,
            message=message,
            log_tail=log_tail,
        )

        em_error.additional_properties = d
        return em_error

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
