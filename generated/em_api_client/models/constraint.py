from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Constraint")


@_attrs_define
class Constraint:
    """
    Attributes:
        name (str):
        id (int | Unset):
        downlink_budget (int | Unset):
        uplink_budget (int | Unset):
        mpu_budget (int | Unset):
        fpga_budget (int | Unset):
        gpu_budget (int | Unset):
        power_budget (int | Unset):
    """

    name: str
    id: int | Unset = UNSET
    downlink_budget: int | Unset = UNSET
    uplink_budget: int | Unset = UNSET
    mpu_budget: int | Unset = UNSET
    fpga_budget: int | Unset = UNSET
    gpu_budget: int | Unset = UNSET
    power_budget: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        id = self.id

        downlink_budget = self.downlink_budget

        uplink_budget = self.uplink_budget

        mpu_budget = self.mpu_budget

        fpga_budget = self.fpga_budget

        gpu_budget = self.gpu_budget

        power_budget = self.power_budget

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
            }
        )
        if id is not UNSET:
            field_dict["id"] = id
        if downlink_budget is not UNSET:
            field_dict["downlink_budget"] = downlink_budget
        if uplink_budget is not UNSET:
            field_dict["uplink_budget"] = uplink_budget
        if mpu_budget is not UNSET:
            field_dict["mpu_budget"] = mpu_budget
        if fpga_budget is not UNSET:
            field_dict["fpga_budget"] = fpga_budget
        if gpu_budget is not UNSET:
            field_dict["gpu_budget"] = gpu_budget
        if power_budget is not UNSET:
            field_dict["power_budget"] = power_budget

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        id = d.pop("id", UNSET)

        downlink_budget = d.pop("downlink_budget", UNSET)

        uplink_budget = d.pop("uplink_budget", UNSET)

        mpu_budget = d.pop("mpu_budget", UNSET)

        fpga_budget = d.pop("fpga_budget", UNSET)

        gpu_budget = d.pop("gpu_budget", UNSET)

        power_budget = d.pop("power_budget", UNSET)

        constraint = cls(
            name=name,
            id=id,
            downlink_budget=downlink_budget,
            uplink_budget=uplink_budget,
            mpu_budget=mpu_budget,
            fpga_budget=fpga_budget,
            gpu_budget=gpu_budget,
            power_budget=power_budget,
        )

        constraint.additional_properties = d
        return constraint

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
