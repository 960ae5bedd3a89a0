from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field
from dateutil.parser import isoparse

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.telemetry_record_data import TelemetryRecordData


T = TypeVar("T", bound="TelemetryRecord")


@_attrs_define
class TelemetryRecord:
    """
    Attributes:
        id (UUID):
        timestamp (datetime.datetime):
        data_type (str): e.g. complete, position, attitude, temperature, power.
        data (TelemetryRecordData): Free JSON; a `complete` record's is a TelemetryData.
        original_timestamp (float | None | Unset): Unix seconds.
        created_at (datetime.datetime | None | Unset):
    """

    id: UUID
    timestamp: datetime.datetime
    data_type: str
    data: TelemetryRecordData
    original_timestamp: float | None | Unset = UNSET
    created_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        timestamp = self.timestamp.isoformat()

        data_type = self.data_type

        data = self.data.to_dict()

        original_timestamp: float | None | Unset
        if isinstance(self.original_timestamp, Unset):
            original_timestamp = UNSET
        else:
            original_timestamp = self.original_timestamp

        created_at: None | str | Unset
        if isinstance(self.created_at, Unset):
            created_at = UNSET
        elif isinstance(self.created_at, datetime.datetime):
            created_at = self.created_at.isoformat()
        else:
            created_at = self.created_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "timestamp": timestamp,
                "data_type": data_type,
                "data": data,
            }
        )
        if original_timestamp is not UNSET:
            field_dict["original_timestamp"] = original_timestamp
        if created_at is not UNSET:
            field_dict["created_at"] = created_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.telemetry_record_data import TelemetryRecordData

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        timestamp = isoparse(d.pop("timestamp"))

        data_type = d.pop("data_type")

        data = TelemetryRecordData.from_dict(d.pop("data"))

        def _parse_original_timestamp(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        original_timestamp = _parse_original_timestamp(
            d.pop("original_timestamp", UNSET)
        )

        def _parse_created_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                created_at_type_0 = isoparse(data)

                return created_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        created_at = _parse_created_at(d.pop("created_at", UNSET))

        telemetry_record = cls(
            id=id,
            timestamp=timestamp,
            data_type=data_type,
            data=data,
            original_timestamp=original_timestamp,
            created_at=created_at,
        )

        telemetry_record.additional_properties = d
        return telemetry_record

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
