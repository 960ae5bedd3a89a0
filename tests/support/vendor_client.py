"""The vendor's example client's request shapes (`em-api-interface.py` in the seed), as a tiny
class instead of module globals: `BASE_URL + "/em/..."` URLs (doubled slashes), form-field
login expecting exactly 200, `files=[("files", open(...))]` uploads, `json=` bodies with empty
strings and nulls for absent fields, a new login on 401. Used by the emulator's walkthrough
tests (simulated and real pods)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import requests

__all__ = ["VendorLikeClient"]


class VendorLikeClient:
    """The vendor client's request shapes, as a tiny class instead of module globals."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url, self.username, self.password = base_url, username, password
        self.token: str | None = None

    def get_token(self) -> None:
        response = requests.post(
            self.base_url + "/auth/",
            data={"username": self.username, "password": self.password},
            timeout=30,
        )
        assert response.status_code == 200
        self.token = response.json()["access"]

    def _authorized(self, method: str, url: str, **kwargs: Any) -> Any:
        if self.token is None:
            self.get_token()
        for _ in range(2):
            response = requests.request(
                method, url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60, **kwargs
            )
            if response.status_code != 401:
                return response
            self.get_token()
        return response

    def uplink(self, filepaths: list[Path], dest_path: str = "", pod_name: str = "") -> dict:
        handles = [open(path, "rb") for path in filepaths]  # noqa: SIM115
        try:
            return self._authorized(
                "POST",
                self.base_url + "/em/files/uplink",
                files=[("files", handle) for handle in handles],
                data={"dest_path": dest_path, "pod_name": pod_name},
            ).json()
        finally:
            for handle in handles:
                handle.close()

    def downlink(self, filepath: str, folder: Path, pod_name: str = "") -> Path:
        response = self._authorized(
            "GET",
            self.base_url + "/em/files/downlink",
            params={"filepath": filepath, "pod_name": pod_name},
            stream=True,
        )
        assert response.status_code == 200, response.text
        name = re.search(r'filename="([^"]+)"', response.headers["Content-Disposition"])
        assert name is not None
        target = folder / Path(name.group(1)).name
        with open(target, "wb") as file:
            for chunk in response.iter_content(65536):
                file.write(chunk)
        return target

    def files_list(self, pod_name: str = "") -> dict:
        url = self.base_url + "/em/files/list"
        return self._authorized("GET", url, params={"pod_name": pod_name}).json()

    def delete(self, filepath: str, pod_name: str = "") -> dict:
        body = {"filepath": filepath, "pod_name": pod_name}
        return self._authorized("POST", self.base_url + "/em/files/delete", json=body).json()

    def image_build(
        self, dockerfile: str, image: str, context: str = ".", pod_name: str = ""
    ) -> dict:
        body = {"dockerfile": dockerfile, "image": image, "context": context, "pod_name": pod_name}
        return self._authorized("POST", self.base_url + "/em/pod/image/build", json=body).json()

    def image_list(self) -> dict:
        return self._authorized("GET", self.base_url + "/em/pod/image/list").json()

    def namespace_create(self) -> dict:
        return self._authorized("POST", self.base_url + "/em/pod/namespace/create").json()

    def run(
        self,
        image: str,
        node: str = "FPGA",
        max_duration: int = 1,
        command: str = "",
        scheduled_time: str | None = None,
        pod_name: str | None = None,
        ports: list[int] | None = None,
        namespace: bool = False,
        args: list[str] | None = None,
        envs: dict[str, Any] | None = None,
    ) -> dict:
        body = {
            "image": image,
            "node": node,
            "max_duration": max_duration,
            "command": command,
            "scheduled_time": scheduled_time,
            "pod_name": pod_name,
            "ports": ports,
            "namespace": namespace,
            "args": args,
            "envs": envs,
        }
        return self._authorized("POST", self.base_url + "/em/pod/run", json=body).json()

    def pod_status(self, pod_name: str = "") -> dict:
        url = self.base_url + "/em/pod/status"
        return self._authorized("GET", url, params={"pod_name": pod_name}).json()

    def nodes_status(self) -> dict:
        return self._authorized("GET", self.base_url + "/em/nodes/status").json()
