"""The Docker engine's former module name: it now lives in the `_docker` package, split by
concern. Kept so that code importing `connect` or `build_busybox_image` from here (the demo)
keeps working; new code imports from `._docker`."""

from ._docker import DockerEngine, build_busybox_image, connect

__all__ = ["DockerEngine", "build_busybox_image", "connect"]
