from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="EmStateTerminated")


@_attrs_define
class EmStateTerminated:
    """
    Attributes:
        exit_code (int | Unset):
        signal (int | Unset):
        reason (str | Unset):
        message (str | Unset):
        started_at (str | Unset): RFC 3339 time.
        finished_at (str | Unset): RFC 3339 time.
        container_id (str | Unset):
    """

    exit_code: int | Unset = UNSET
    signal: int | Unset = UNSET
    reason: str | Unset = UNSET
    message: str | Unset = UNSET
    started_at: str | Unset = UNSET
    finished_at: str | Unset = UNSET
    container_id: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        exit_code = self.exit_code

        signal = self.signal

        reason = self.reason

        message = self.message

        started_at = self.started_at

        finished_at = self.finished_at

        container_id = self.container_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if exit_code is not UNSET:
            field_dict["exitCode"] = exit_code
        if signal is not UNSET:
            field_dict["signal"] = signal
        if reason is not UNSET:
            field_dict["reason"] = reason
        if message is not UNSET:
            field_dict["message"] = message
        if started_at is not UNSET:
            field_dict["startedAt"] = started_at
        if finished_at is not UNSET:
            field_dict["finishedAt"] = finished_at
        if container_id is not UNSET:
            field_dict["containerID"] = container_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        exit_code = d.pop("exitCode", UNSET)

        signal = d.pop("signal", UNSET)

        reason = d.pop("reason", UNSET)

        message = d.pop("message", UNSET)

        started_at = d.pop("startedAt", UNSET)

        finished_at = d.pop("finishedAt", UNSET)

        container_id = d.pop("containerID", UNSET)

        em_state_terminated = cls(
            exit_code=exit_code,
            signal=signal,
            reason=reason,
            message=message,
            started_at=started_at,
            finished_at=finished_at,
            container_id=container_id,
        )

        em_state_terminated.additional_properties = d
        return em_state_terminated

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
