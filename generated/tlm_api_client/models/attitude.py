from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.quaternion import Quaternion
    from ..models.vector_3 import Vector3


T = TypeVar("T", bound="Attitude")


@_attrs_define
class Attitude:
    """
    Attributes:
        quaternion (None | Quaternion | Unset):
        angular_velocity (None | Unset | Vector3):
    """

    quaternion: None | Quaternion | Unset = UNSET
    angular_velocity: None | Unset | Vector3 = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.quaternion import Quaternion
        from ..models.vector_3 import Vector3

        quaternion: dict[str, Any] | None | Unset
        if isinstance(self.quaternion, Unset):
            quaternion = UNSET
        elif isinstance(self.quaternion, Quaternion):
            quaternion = self.quaternion.to_dict()
        else:
            quaternion = self.quaternion

        angular_velocity: dict[str, Any] | None | Unset
        if isinstance(self.angular_velocity, Unset):
            angular_velocity = UNSET
        elif isinstance(self.angular_velocity, Vector3):
            angular_velocity = self.angular_velocity.to_dict()
        else:
            angular_velocity = self.angular_velocity

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if quaternion is not UNSET:
            field_dict["quaternion"] = quaternion
        if angular_velocity is not UNSET:
            field_dict["angular_velocity"] = angular_velocity

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.quaternion import Quaternion
        from ..models.vector_3 import Vector3

        d = dict(src_dict)

        def _parse_quaternion(data: object) -> None | Quaternion | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                quaternion_type_0 = Quaternion.from_dict(data)

                return quaternion_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Quaternion | Unset, data)

        quaternion = _parse_quaternion(d.pop("quaternion", UNSET))

        def _parse_angular_velocity(data: object) -> None | Unset | Vector3:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                angular_velocity_type_0 = Vector3.from_dict(data)

                return angular_velocity_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | Vector3, data)

        angular_velocity = _parse_angular_velocity(d.pop("angular_velocity", UNSET))

        attitude = cls(
            quaternion=quaternion,
            angular_velocity=angular_velocity,
        )

        attitude.additional_properties = d
        return attitude

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
