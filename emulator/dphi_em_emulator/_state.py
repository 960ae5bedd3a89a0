"""The data dir's layout and small JSON documents written atomically.

```
DATA_DIR/
  volumes/<user>/_default/      the user's default volume
  volumes/<user>/<pod_name>/    one volume per pod name
  state/signing.key             the JWT signing key (kept so restarts keep tokens valid)
  state/images.json             {user: {image: record}}
  state/pods.json               {user: {pod_name or "": record}}
  state/namespaces.json         {user: record}
  tmp/                          uplink staging (same file system as volumes; emptied at start)
```
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

#: The folder name of the default volume: never a valid pod name (which has no '_').
DEFAULT_VOLUME = "_default"


class DataDir:
    """Paths inside the data dir; creates the skeleton and empties `tmp/`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.volumes = self.root / "volumes"
        self.state = self.root / "state"
        self.tmp = self.root / "tmp"
        for folder in (self.volumes, self.state):
            folder.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def volume(self, user: str, pod_name: str | None) -> Path:
        """The folder of a user's volume (not created)."""
        return self.volumes / user / (pod_name or DEFAULT_VOLUME)

    def new_staging_dir(self) -> Path:
        """A fresh, empty folder for one call's temporary files."""
        path = self.tmp / uuid.uuid4().hex
        path.mkdir()
        return path


class JsonDocument:
    """One JSON object on disk, read once, rewritten atomically on every change."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path} does not hold a JSON object")
        self._data: dict[str, Any] = loaded

    def get(self, key: str) -> Any:
        with self._lock:
            return json.loads(json.dumps(self._data.get(key)))

    def update(self, key: str, value: Any) -> None:
        """Set `key` (None removes it) and write the file."""
        with self._lock:
            if value is None:
                self._data.pop(key, None)
            else:
                self._data[key] = value
            tmp = self._path.with_name(f".{self._path.name}.{uuid.uuid4().hex}.tmp")
            try:
                tmp.write_text(json.dumps(self._data, indent=1, sort_keys=True), encoding="utf-8")
                os.replace(tmp, self._path)
            except OSError:  # e.g. a full disk: no half-written file is left behind
                tmp.unlink(missing_ok=True)
                raise
