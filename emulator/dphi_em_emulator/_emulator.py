"""The emulator's state: the data dir, users, images, pods, namespaces and the request lock."""

from __future__ import annotations

from ._auth import Authenticator, load_signing_key
from ._config import EmulatorConfig
from ._engine import PodEngine, make_engine
from ._images import Images, same_image
from ._lock import RequestLock
from ._pods import Pods
from ._state import DataDir, JsonDocument
from ._telemetry import TelemetryService


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
        pod_records = JsonDocument(self.data.state / "pods.json")
        self.pods = Pods(pod_records, config)  # the simulated engine's records
        self.namespaces = JsonDocument(self.data.state / "namespaces.json")
        self.lock = RequestLock(config.lock_enabled)
        #: The satellite's telemetry service (None when `config.telemetry` is off).
        self.telemetry: TelemetryService | None = None
        if config.telemetry:
            self.telemetry = TelemetryService(
                self.data.root / "telemetry",
                config.telemetry_seed,
                config.tle,
                config.telemetry_cadence,
                config.telemetry_history,
                config.time_scale,
                config.telemetry_images,
                config.telemetry_port,
                config.telemetry_port_fallback,
            ).start()
        #: What builds images and runs pods, and the start-up line saying which and why.
        self.engine: PodEngine
        try:
            self.engine, self.engine_line = make_engine(
                config, self.data, self.images, pod_records, self.telemetry
            )
        except BaseException:
            if self.telemetry is not None:
                self.telemetry.close()
            raise

    def close(self) -> None:
        """Stop the pod engine (and, as configured, its pods), then the telemetry service."""
        self.engine.close()
        if self.telemetry is not None:
            self.telemetry.close()

    def is_public_image(self, image: str) -> bool:
        return any(same_image(image, public) for public in self.config.public_images)
