"""Which revision of the EM API a server speaks, learnt without risk, and what follows.

Two revisions are in use (see the README's "API revisions"):

- **2025-11**, the vendor's spec: read-only calls are `GET`; volumes are named by
  `pod_name`; namespaces exist; no volume endpoints.
- **2026-01**, the vendor's revised client: read-only calls are `POST`; volumes are named by
  `pvc_name` (`run` takes both); no namespaces; `POST /em/pvc/list` and `/em/pvc/delete`.

The client behaves the same against both without configuration:

- every volume-addressed request names the volume in both fields, so either server reads
  it (the operation table does that; nothing to learn);
- a read-only call is sent in the form last seen to work, `GET` first; a `405` to a `GET`
  teaches that the server takes `POST`, and the call is sent again as `POST` (it changed
  nothing). A request that changes anything is never sent twice to find out;
- an operation only one revision has is preceded, once per client, by a read-only probe:
  `POST /em/pvc/list` (404: no volumes) or `GET /em/nodes/status` (405: the January
  revision, so no namespaces). When the server lacks it, `RevisionError` is raised before
  anything is done, naming the revision.

`EMClient(api="2025-11" | "2026-01")` pins a revision: no probing, no fallback.
This module is the decisions only; each client sends the requests.
"""

from __future__ import annotations

from typing import Any, Literal

import httpx

from ._errors import RevisionError, ValidationError

__all__ = ["API_REVISIONS", "ApiRevision", "Feature", "RevisionState"]

ApiRevision = Literal["2025-11", "2026-01"]
#: The revisions a client can be pinned to.
API_REVISIONS: tuple[ApiRevision, ...] = ("2025-11", "2026-01")

#: What only one revision has: namespaces (2025-11); volume endpoints and `run` with a
#: volume other than the pod's own (2026-01).
Feature = Literal["namespaces", "volumes"]

_NAMES = {"2025-11": "November 2025", "2026-01": "January 2026"}
_PROBES: dict[Feature, dict[str, Any]] = {
    "volumes": {"method": "POST", "url": "em/pvc/list"},
    "namespaces": {"method": "GET", "url": "em/nodes/status"},
}
_WHO_HAS: dict[Feature, ApiRevision] = {"namespaces": "2025-11", "volumes": "2026-01"}


class RevisionState:
    """What one client knows of its server's revision (pinned, or learnt as it goes).

    Args:
        api: A pinned revision, or None to find out.

    Raises:
        ValidationError: `api` is not one of `API_REVISIONS`.
    """

    def __init__(self, api: str | None) -> None:
        if api is not None and api not in API_REVISIONS:
            allowed = ", ".join(repr(r) for r in API_REVISIONS)
            raise ValidationError(f"Invalid api {api!r}: use one of {allowed}, or None.")
        self.pinned: ApiRevision | None = api
        #: Whether read-only calls take GET (None: not known yet).
        self.get_reads: bool | None = None if api is None else api == "2025-11"
        self._has: dict[Feature, bool] = {}
        if api is not None:
            self._has = {"namespaces": api == "2025-11", "volumes": api == "2026-01"}

    @property
    def revision(self) -> ApiRevision | None:
        """The revision as far as known: pinned, or what the server showed (None: unknown)."""
        if self.pinned is not None:
            return self.pinned
        if self.get_reads is False or self._has.get("namespaces") is False:
            return "2026-01"
        if self._has.get("volumes") is False:
            return "2025-11"
        return None

    # -- read-only calls ----------------------------------------------------------------------

    def read_form(self, get: dict[str, Any], post: dict[str, Any]) -> dict[str, Any]:
        """The form to send a read-only call in."""
        return post if self.get_reads is False else get

    def retry_as_post(self, response: httpx.Response) -> bool:
        """After a read-only call sent as GET: whether to send it again as POST (learns)."""
        if response.request.method != "GET" or self.pinned is not None:
            return False
        if response.status_code == 405:
            self.get_reads = False
            return True
        if response.status_code < 400 or response.status_code in (400, 403, 404, 423):
            self.get_reads = True
        return False

    # -- what only one revision has ------------------------------------------------------------

    def probe(self, feature: Feature) -> dict[str, Any] | None:
        """The read-only request that tells whether the server has `feature` (None: known)."""
        if feature in self._has:
            return None
        if feature == "namespaces" and self.get_reads is not None:
            self._has["namespaces"] = self.get_reads
            return None
        return dict(_PROBES[feature])

    def learn(self, feature: Feature, response: httpx.Response) -> None:
        """Take the probe's answer (an answer that says nothing leaves it unknown).

        Raises:
            APIError: The probe failed for another reason (e.g. 401); raised as for any call.
        """
        status = response.status_code
        if feature == "volumes":
            if status == 404 or status == 405:
                self._has["volumes"] = False
            elif 200 <= status < 300:
                self._has["volumes"] = True
        elif status == 405:
            self.get_reads = False
            self._has["namespaces"] = False
        elif 200 <= status < 300:
            self.get_reads = True
            self._has["namespaces"] = True

    def require(self, feature: Feature, what: str) -> None:
        """Check that the server has `feature` before `what` is sent.

        Raises:
            RevisionError: It does not; the message names the revision that has it.
        """
        if self._has.get(feature, True):
            return
        owner = _WHO_HAS[feature]
        other = "2026-01" if owner == "2025-11" else "2025-11"
        how = "pinned" if self.pinned is not None else "found"
        raise RevisionError(
            f"{what} needs the {_NAMES[owner]} revision of the EM API ({owner}); this "
            f"client {how} the {_NAMES[other]} revision ({other}) on its server. "
            "Nothing was sent.",
            revision=other,
        )
