from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Payload")


@_attrs_define
class Payload:
    """
    Attributes:
        name (str):
        integration_status (str):
        provider (int):
        id (int | Unset):
        downlink_used (int | Unset):
        uplink_used (int | Unset):
        mpu_used (int | Unset):
        fpga_used (int | Unset):
        gpu_used (int | Unset):
        power_used (int | Unset):
        mission (int | Unset):
        constraint (int | None | Unset):
    """

    name: str
    integration_status: str
    provider: int
    id: int | Unset = UNSET
    downlink_used: int | Unset = UNSET
    uplink_used: int | Unset = UNSET
    mpu_used: int | Unset = UNSET
    fpga_used: int | Unset = UNSET
    gpu_used: int | Unset = UNSET
    power_used: int | Unset = UNSET
    mission: int | Unset = UNSET
    constraint: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        integration_status = self.integration_status

        provider = self.provider

        id = self.id

        downlink_used = self.downlink_used

        uplink_used = self.uplink_used

        mpu_used = self.mpu_used

        fpga_used = self.fpga_used

        gpu_used = self.gpu_used

        power_used = self.power_used

        mission = self.mission

        constraint: int | None | Unset
        if isinstance(self.constraint, Unset):
            constraint = UNSET
        else:
            constraint = self.constraint

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "integration_status": integration_status,
                "provider": provider,
            }
        )
        if id is not UNSET:
            field_dict["id"] = id
        if downlink_used is not UNSET:
            field_dict["downlink_used"] = downlink_used
        if uplink_used is not UNSET:
            field_dict["uplink_used"] = uplink_used
        if mpu_used is not UNSET:
            field_dict["mpu_used"] = mpu_used
        if fpga_used is not UNSET:
            field_dict["fpga_used"] = fpga_used
        if gpu_used is not UNSET:
            field_dict["gpu_used"] = gpu_used
        if power_used is not UNSET:
            field_dict["power_used"] = power_used
        if mission is not UNSET:
            field_dict["mission"] = mission
        if constraint is not UNSET:
            field_dict["constraint"] = constraint

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        integration_status = d.pop("integration_status")

        provider = d.pop("provider")

        id = d.pop("id", UNSET)

        downlink_used = d.pop("downlink_used", UNSET)

        uplink_used = d.pop("uplink_used", UNSET)

        mpu_used = d.pop("mpu_used", UNSET)

        fpga_used = d.pop("fpga_used", UNSET)

        gpu_used = d.pop("gpu_used", UNSET)

        power_used = d.pop("power_used", UNSET)

        mission = d.pop("mission", UNSET)

        def _parse_constraint(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        constraint = _parse_constraint(d.pop("constraint", UNSET))

        payload = cls(
            name=name,
            integration_status=integration_status,
            provider=provider,
            id=id,
            downlink_used=downlink_used,
            uplink_used=uplink_used,
            mpu_used=mpu_used,
            fpga_used=fpga_used,
            gpu_used=gpu_used,
            power_used=power_used,
            mission=mission,
            constraint=constraint,
        )

        payload.additional_properties = d
        return payload

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
