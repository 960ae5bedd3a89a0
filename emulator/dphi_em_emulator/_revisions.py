"""The two revisions of the EM API: which request field names the volume, and what is ignored.

- **2025-11** (the vendor's spec and walkthrough): the volume is named by `pod_name` in every
  file and image operation and in `run` (a pod uses its own name's volume); `pvc_name` is
  not read.
- **2026-01** (the vendor's client since January 2026): the volume is named by `pvc_name`;
  `pod_name` is **not read** on file and image operations (a request with only `pod_name`
  works on the default volume: the hazard a client must avoid). `run` takes both: `pod_name`
  names the pod, `pvc_name` the volume (absent: the default volume, not the pod's). `run`'s
  `namespace` field is gone and ignored, as Django REST Framework ignores unknown fields.
- **both**: either form. `pvc_name` wins over `pod_name`; on a file or image operation, a
  `pod_name` and a `pvc_name` naming two different volumes are refused (400
  `INVALID_PARAMETERS`), since one of the two revisions would read each. On `run`, the volume
  is `pvc_name` when given, else `pod_name` (the November rule), and `namespace` is read.
"""

from __future__ import annotations

from typing import Any

from ._config import API_BOTH, API_JANUARY_2026, API_NOVEMBER_2025
from ._errors import bad_parameter
from ._forms import Fields
from ._storage import pod_name_or_none


def serves(api: str, revision: str) -> bool:
    """Whether an emulator in mode `api` serves `revision`'s forms."""
    return api in (API_BOTH, revision)


def volume_of(api: str, pod_name: object, pvc_name: object) -> str | None:
    """The volume (None: the default one) a file or image operation works on.

    Raises:
        EMError: 400 for an invalid name in a field the mode reads, or (mode "both") for a
            `pod_name` and a `pvc_name` that name different volumes.
    """
    if api == API_NOVEMBER_2025:
        return pod_name_or_none(pod_name)
    if api == API_JANUARY_2026:
        return pod_name_or_none(pvc_name, "pvc_name")
    pod = pod_name_or_none(pod_name)
    pvc = pod_name_or_none(pvc_name, "pvc_name")
    if pod is not None and pvc is not None and pod != pvc:
        raise bad_parameter(
            f"pod_name {pod!r} and pvc_name {pvc!r} name different volumes: a November 2025 "
            "EM reads pod_name, a January 2026 EM reads pvc_name. Send one name, or the same "
            "name in both."
        )
    return pvc if pvc is not None else pod


def run_volume(api: str, pod_name: str | None, pvc_name: object) -> str | None:
    """The volume (None: the default one) mounted at `/data` in a pod run as `pod_name`.

    Raises:
        EMError: 400 for an invalid `pvc_name` (when the mode reads it).
    """
    if api == API_NOVEMBER_2025:
        return pod_name
    pvc = pod_name_or_none(pvc_name, "pvc_name")
    if api == API_JANUARY_2026:
        return pvc
    return pvc if pvc is not None else pod_name


class _Ignoring(Fields):
    """The fields of a body with some names left unread (as if they were not sent)."""

    def __init__(self, inner: Fields, ignored: frozenset[str]) -> None:
        super().__init__({}, {}, inner.typed)
        self._inner = inner
        self._ignored = ignored

    def get(self, name: str) -> Any:
        return None if name in self._ignored else self._inner.get(name)

    def get_list(self, name: str) -> list[Any] | None:
        return None if name in self._ignored else self._inner.get_list(name)


def run_fields(api: str, fields: Fields) -> Fields:
    """A run's fields as the mode reads them: January 2026 has no `namespace` field."""
    if api == API_JANUARY_2026:
        return _Ignoring(fields, frozenset({"namespace"}))
    return fields
