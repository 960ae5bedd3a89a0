"""Contains all the data models used in inputs/outputs"""

from .attitude import Attitude
from .error_response import ErrorResponse
from .health import Health
from .health_response import HealthResponse
from .images_request import ImagesRequest
from .names_response import NamesResponse
from .quaternion import Quaternion
from .records_response import RecordsResponse
from .stats import Stats
from .stats_data_type_breakdown import StatsDataTypeBreakdown
from .stats_response import StatsResponse
from .telemetry_data import TelemetryData
from .telemetry_data_power_type_0 import TelemetryDataPowerType0
from .telemetry_data_temperature_type_0 import TelemetryDataTemperatureType0
from .telemetry_record import TelemetryRecord
from .telemetry_record_data import TelemetryRecordData
from .tle import TLE
from .tle_response import TLEResponse
from .vector_3 import Vector3

__all__ = (
    "Attitude",
    "ErrorResponse",
    "Health",
    "HealthResponse",
    "ImagesRequest",
    "NamesResponse",
    "Quaternion",
    "RecordsResponse",
    "Stats",
    "StatsDataTypeBreakdown",
    "StatsResponse",
    "TelemetryData",
    "TelemetryDataPowerType0",
    "TelemetryDataTemperatureType0",
    "TelemetryRecord",
    "TelemetryRecordData",
    "TLE",
    "TLEResponse",
    "Vector3",
)
