from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.em_container_state import EmContainerState


T = TypeVar("T", bound="EmPodStatus")


@_attrs_define
class EmPodStatus:
    """
    Attributes:
        state (EmContainerState): A Kubernetes ContainerState; exactly one key is set.
    """

    state: EmContainerState
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        state = self.state.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "state": state,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.em_container_state import EmContainerState

        d = dict(src_dict)
        state = EmContainerState.from_dict(d.pop("state"))

        em_pod_status = cls(
            state=state,
        )

        em_pod_status.additional_properties = d
        return em_pod_status

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
