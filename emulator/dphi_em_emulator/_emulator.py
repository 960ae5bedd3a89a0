"""The emulator's state: the data dir, users, images, pods, namespaces and the request lock."""

from __future__ import annotations

from ._auth import Authenticator, load_signing_key
from ._config import EmulatorConfig
from ._images import Images, same_image
from ._lock import RequestLock
from ._pods import Pods
from ._state import DataDir, JsonDocument


class Emulator:
    """Everything the request handlers share; built once per app from its config."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.data = DataDir(config.data_dir)
        self.auth = Authenticator(
            dict(config.users),
            load_signing_key(self.data.state / "signing.key"),
            config.access_lifetime,
            config.refresh_lifetime,
        )
        self.images = Images(JsonDocument(self.data.state / "images.json"))
        self.pods = Pods(JsonDocument(self.data.state / "pods.json"), config)
        self.namespaces = JsonDocument(self.data.state / "namespaces.json")
        self.lock = RequestLock(config.lock_enabled)

    def is_public_image(self, image: str) -> bool:
        return any(same_image(image, public) for public in self.config.public_images)
