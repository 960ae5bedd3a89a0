from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..types import UNSET, Unset

T = TypeVar("T", bound="TLE")


@_attrs_define
class TLE:
    """
    Attributes:
        line1 (str):
        line2 (str):
        name (None | str | Unset):
        epoch (datetime.datetime | None | Unset):
    """

    line1: str
    line2: str
    name: None | str | Unset = UNSET
    epoch: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        line1 = self.line1

        line2 = self.line2

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        epoch: None | str | Unset
        if isinstance(self.epoch, Unset):
            epoch = UNSET
        elif isinstance(self.epoch, datetime.datetime):
            epoch = self.epoch.isoformat()
        else:
            epoch = self.epoch

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "line1": line1,
                "line2": line2,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if epoch is not UNSET:
            field_dict["epoch"] = epoch

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        line1 = d.pop("line1")

        line2 = d.pop("line2")

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_epoch(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                epoch_type_0 = isoparse(data)

                return epoch_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        epoch = _parse_epoch(d.pop("epoch", UNSET))

        tle = cls(
            line1=line1,
            line2=line2,
            name=name,
            epoch=epoch,
        )

        tle.additional_properties = d
        return tle

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
