from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.stats_data_type_breakdown import StatsDataTypeBreakdown


T = TypeVar("T", bound="Stats")


@_attrs_define
class Stats:
    """
    Attributes:
        total_records (int):
        data_types_count (int | Unset):
        data_type_breakdown (StatsDataTypeBreakdown | Unset):
        earliest_timestamp (datetime.datetime | None | Unset):
        latest_timestamp (datetime.datetime | None | Unset):
    """

    total_records: int
    data_types_count: int | Unset = UNSET
    data_type_breakdown: StatsDataTypeBreakdown | Unset = UNSET
    earliest_timestamp: datetime.datetime | None | Unset = UNSET
    latest_timestamp: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        total_records = self.total_records

        data_types_count = self.data_types_count

        data_type_breakdown: dict[str, Any] | Unset = UNSET
        if not isinstance(self.data_type_breakdown, Unset):
            data_type_breakdown = self.data_type_breakdown.to_dict()

        earliest_timestamp: None | str | Unset
        if isinstance(self.earliest_timestamp, Unset):
            earliest_timestamp = UNSET
        elif isinstance(self.earliest_timestamp, datetime.datetime):
            earliest_timestamp = self.earliest_timestamp.isoformat()
        else:
            earliest_timestamp = self.earliest_timestamp

        latest_timestamp: None | str | Unset
        if isinstance(self.latest_timestamp, Unset):
            latest_timestamp = UNSET
        elif isinstance(self.latest_timestamp, datetime.datetime):
            latest_timestamp = self.latest_timestamp.isoformat()
        else:
            latest_timestamp = self.latest_timestamp

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "total_records": total_records,
            }
        )
        if data_types_count is not UNSET:
            field_dict["data_types_count"] = data_types_count
        if data_type_breakdown is not UNSET:
            field_dict["data_type_breakdown"] = data_type_breakdown
        if earliest_timestamp is not UNSET:
            field_dict["earliest_timestamp"] = earliest_timestamp
        if latest_timestamp is not UNSET:
            field_dict["latest_timestamp"] = latest_timestamp

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.stats_data_type_breakdown import StatsDataTypeBreakdown

        d = dict(src_dict)
        total_records = d.pop("total_records")

        data_types_count = d.pop("data_types_count", UNSET)

        _data_type_breakdown = d.pop("data_type_breakdown", UNSET)
        data_type_breakdown: StatsDataTypeBreakdown | Unset
        if isinstance(_data_type_breakdown, Unset):
            data_type_breakdown = UNSET
        else:
            data_type_breakdown = StatsDataTypeBreakdown.from_dict(_data_type_breakdown)

        def _parse_earliest_timestamp(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                earliest_timestamp_type_0 = isoparse(data)

                return earliest_timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        earliest_timestamp = _parse_earliest_timestamp(
            d.pop("earliest_timestamp", UNSET)
        )

        def _parse_latest_timestamp(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                latest_timestamp_type_0 = isoparse(data)

                return latest_timestamp_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        latest_timestamp = _parse_latest_timestamp(d.pop("latest_timestamp", UNSET))

        stats = cls(
            total_records=total_records,
            data_types_count=data_types_count,
            data_type_breakdown=data_type_breakdown,
            earliest_timestamp=earliest_timestamp,
            latest_timestamp=latest_timestamp,
        )

        stats.additional_properties = d
        return stats

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
