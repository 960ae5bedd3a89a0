"""Streaming uplink and downlink: the names of the former single module.

The code lives in `_uplink` (planning and the multipart stream), `_download` (the download
target and its drivers) and `_progress` (progress reports and bars). This module re-exports
their names for the code that still imports them from here.
"""

from __future__ import annotations

from ._download import (
    DownloadTarget,
    areceive_download,
    content_disposition_filename,
    receive_download,
    safe_file_name,
)
from ._progress import Progress, ProgressCallback
from ._uplink import GATHER_SIZE, MAX_FILES_PER_CALL, MultipartFileStream, UplinkFile, plan_uplink

__all__ = [
    "GATHER_SIZE",
    "MAX_FILES_PER_CALL",
    "DownloadTarget",
    "MultipartFileStream",
    "Progress",
    "ProgressCallback",
    "UplinkFile",
    "areceive_download",
    "content_disposition_filename",
    "plan_uplink",
    "receive_download",
    "safe_file_name",
]
