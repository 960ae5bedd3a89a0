from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.em_state_running import EmStateRunning
    from ..models.em_state_terminated import EmStateTerminated
    from ..models.em_state_waiting import EmStateWaiting


T = TypeVar("T", bound="EmContainerState")


@_attrs_define
class EmContainerState:
    """A Kubernetes ContainerState; exactly one key is set.

    Attributes:
        waiting (EmStateWaiting | Unset):
        running (EmStateRunning | Unset):
        terminated (EmStateTerminated | Unset):
    """

    waiting: EmStateWaiting | Unset = UNSET
    running: EmStateRunning | Unset = UNSET
    terminated: EmStateTerminated | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        waiting: dict[str, Any] | Unset = UNSET
        if not isinstance(self.waiting, Unset):
            waiting = self.waiting.to_dict()

        running: dict[str, Any] | Unset = UNSET
        if not isinstance(self.running, Unset):
            running = self.running.to_dict()

        terminated: dict[str, Any] | Unset = UNSET
        if not isinstance(self.terminated, Unset):
            terminated = self.terminated.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if waiting is not UNSET:
            field_dict["waiting"] = waiting
        if running is not UNSET:
            field_dict["running"] = running
        if terminated is not UNSET:
            field_dict["terminated"] = terminated

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.em_state_running import EmStateRunning
        from ..models.em_state_terminated import EmStateTerminated
        from ..models.em_state_waiting import EmStateWaiting

        d = dict(src_dict)
        _waiting = d.pop("waiting", UNSET)
        waiting: EmStateWaiting | Unset
        if isinstance(_waiting, Unset):
            waiting = UNSET
        else:
            waiting = EmStateWaiting.from_dict(_waiting)

        _running = d.pop("running", UNSET)
        running: EmStateRunning | Unset
        if isinstance(_running, Unset):
            running = UNSET
        else:
            running = EmStateRunning.from_dict(_running)

        _terminated = d.pop("terminated", UNSET)
        terminated: EmStateTerminated | Unset
        if isinstance(_terminated, Unset):
            terminated = UNSET
        else:
            terminated = EmStateTerminated.from_dict(_terminated)

        em_container_state = cls(
            waiting=waiting,
            running=running,
            terminated=terminated,
        )

        em_container_state.additional_properties = d
        return em_container_state

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
