from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.attitude import Attitude
    from ..models.telemetry_data_power_type_0 import TelemetryDataPowerType0
    from ..models.telemetry_data_temperature_type_0 import TelemetryDataTemperatureType0
    from ..models.vector_3 import Vector3


T = TypeVar("T", bound="TelemetryData")


@_attrs_define
class TelemetryData:
    """A `complete` record's data: the state at `timestamp` (Unix seconds). Position and velocity are km and km/s (a low
    Earth orbit); `temperature` has up to 8 sensors, `sensor0`..`sensor7`; any member may be null.

        Attributes:
            timestamp (float | None | Unset):
            position (None | Unset | Vector3):
            velocity (None | Unset | Vector3):
            attitude (Attitude | None | Unset):
            power (None | TelemetryDataPowerType0 | Unset):
            temperature (None | TelemetryDataTemperatureType0 | Unset):
            tle (None | str | Unset):
    """

    timestamp: float | None | Unset = UNSET
    position: None | Unset | Vector3 = UNSET
    velocity: None | Unset | Vector3 = UNSET
    attitude: Attitude | None | Unset = UNSET
    power: None | TelemetryDataPowerType0 | Unset = UNSET
    temperature: None | TelemetryDataTemperatureType0 | Unset = UNSET
    tle: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.attitude import Attitude
        from ..models.telemetry_data_power_type_0 import TelemetryDataPowerType0
        from ..models.telemetry_data_temperature_type_0 import (
            TelemetryDataTemperatureType0,
        )
        from ..models.vector_3 import Vector3

        timestamp: float | None | Unset
        if isinstance(self.timestamp, Unset):
            timestamp = UNSET
        else:
            timestamp = self.timestamp

        position: dict[str, Any] | None | Unset
        if isinstance(self.position, Unset):
            position = UNSET
        elif isinstance(self.position, Vector3):
            position = self.position.to_dict()
        else:
            position = self.position

        velocity: dict[str, Any] | None | Unset
        if isinstance(self.velocity, Unset):
            velocity = UNSET
        elif isinstance(self.velocity, Vector3):
            velocity = self.velocity.to_dict()
        else:
            velocity = self.velocity

        attitude: dict[str, Any] | None | Unset
        if isinstance(self.attitude, Unset):
            attitude = UNSET
        elif isinstance(self.attitude, Attitude):
            attitude = self.attitude.to_dict()
        else:
            attitude = self.attitude

        power: dict[str, Any] | None | Unset
        if isinstance(self.power, Unset):
            power = UNSET
        elif isinstance(self.power, TelemetryDataPowerType0):
            power = self.power.to_dict()
        else:
            power = self.power

        temperature: dict[str, Any] | None | Unset
        if isinstance(self.temperature, Unset):
            temperature = UNSET
        elif isinstance(self.temperature, TelemetryDataTemperatureType0):
            temperature = self.temperature.to_dict()
        else:
            temperature = self.temperature

        tle: None | str | Unset
        if isinstance(self.tle, Unset):
            tle = UNSET
        else:
            tle = self.tle

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp
        if position is not UNSET:
            field_dict["position"] = position
        if velocity is not UNSET:
            field_dict["velocity"] = velocity
        if attitude is not UNSET:
            field_dict["attitude"] = attitude
        if power is not UNSET:
            field_dict["power"] = power
        if temperature is not UNSET:
            field_dict["temperature"] = temperature
        if tle is not UNSET:
            field_dict["tle"] = tle

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.attitude import Attitude
        from ..models.telemetry_data_power_type_0 import TelemetryDataPowerType0
        from ..models.telemetry_data_temperature_type_0 import (
            TelemetryDataTemperatureType0,
        )
        from ..models.vector_3 import Vector3

        d = dict(src_dict)

        def _parse_timestamp(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        timestamp = _parse_timestamp(d.pop("timestamp", UNSET))

        def _parse_position(data: object) -> None | Unset | Vector3:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                position_type_0 = Vector3.from_dict(data)

                return position_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | Vector3, data)

        position = _parse_position(d.pop("position", UNSET))

        def _parse_velocity(data: object) -> None | Unset | Vector3:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                velocity_type_0 = Vector3.from_dict(data)

                return velocity_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | Vector3, data)

        velocity = _parse_velocity(d.pop("velocity", UNSET))

        def _parse_attitude(data: object) -> Attitude | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                attitude_type_0 = Attitude.from_dict(data)

                return attitude_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Attitude | None | Unset, data)

        attitude = _parse_attitude(d.pop("attitude", UNSET))

        def _parse_power(data: object) -> None | TelemetryDataPowerType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                power_type_0 = TelemetryDataPowerType0.from_dict(data)

                return power_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TelemetryDataPowerType0 | Unset, data)

        power = _parse_power(d.pop("power", UNSET))

        def _parse_temperature(
            data: object,
        ) -> None | TelemetryDataTemperatureType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                temperature_type_0 = TelemetryDataTemperatureType0.from_dict(data)

                return temperature_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TelemetryDataTemperatureType0 | Unset, data)

        temperature = _parse_temperature(d.pop("temperature", UNSET))

        def _parse_tle(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        tle = _parse_tle(d.pop("tle", UNSET))

        telemetry_data = cls(
            timestamp=timestamp,
            position=position,
            velocity=velocity,
            attitude=attitude,
            power=power,
            temperature=temperature,
            tle=tle,
        )

        telemetry_data.additional_properties = d
        return telemetry_data

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
