"""Who owns which image: by the engine's image ID, never by a name a user could write.

The record (`docker.json`, key `images`) holds, per user, each name the emulator wrote for
that user (`<user>-<image>`) with the image ID it pointed to when written; `system_images`
holds the emulator's own shared images (the namespaces' `pause` image, onboard stand-ins),
which every user may use and none may own. Built images also carry the owner in labels, so
another emulator instance's users are recognised too.

`resolve` is the one place where a reference a user gave (a pod's image, a Dockerfile's
`FROM` or `COPY --from`) becomes an image: it is resolved as the engine resolves it, then the
image's ID is checked against the record. A catalogue of allowed onboard images plugs in
there.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from docker.models.images import Image

from .. import _dockerfile
from .._images import same_image
from ._common import LABEL_EMULATOR, LABEL_USER, EngineContext, object_id

#: `owners` of an image labelled by another emulator instance (its user is not ours).
FOREIGN = "?"


class ImageAccessDenied(Exception):
    """A reference that names an image another user owns (the message is the engine's own
    wording for an image that is not there: nothing tells the caller it exists)."""


@dataclasses.dataclass(frozen=True)
class Resolved:
    """An image a user may use.

    Attributes:
        image: The image.
        image_id: Its ID (what a pod is created from).
        shown: The reference as the pod status shows it.
    """

    image: Image
    image_id: str
    shown: str


def denied(ref: str) -> ImageAccessDenied:
    """The refusal of `ref`: worded as the engine words an image it can't find."""
    return ImageAccessDenied(
        f'failed to resolve reference "{ref}": pull access denied, repository does not exist '
        "or may require authorization"
    )


class ImageOwnership:
    """The record of which user owns which image ID, and the resolution of references.

    Args:
        ctx: The engine's shared context.
        get: The image a reference (name, ID, digest) names in the engine, or None.
    """

    def __init__(self, ctx: EngineContext, get: Callable[[str], Image | None]) -> None:
        self._ctx = ctx
        self._get = get

    def records(self) -> dict[str, dict[str, Any]]:
        """user -> name -> {id, source, created, preexisting}."""
        records: dict[str, dict[str, Any]] = self._ctx.state.get("images") or {}
        return records

    def record(
        self, user: str, name: str, image_id: str, source: str, preexisting: bool = False
    ) -> None:
        """Record that the emulator wrote `name` for `user`, naming `image_id`.

        Args:
            preexisting: The image was in the engine before the user loaded it (the same
                content as an image already there): the user does not own it alone.
        """
        with self._ctx.lock:
            records = self.records()
            own = {
                key: value
                for key, value in (records.get(user) or {}).items()
                if not same_image(key, name)
            }
            own[name] = {
                "id": image_id,
                "source": source,
                "created": time.time(),
                "preexisting": preexisting,
            }
            records[user] = own
            self._ctx.state.update("images", records)

    def system_images(self) -> dict[str, str]:
        """name -> ID of the emulator's own shared images (read-only to users)."""
        system: dict[str, str] = self._ctx.state.get("system_images") or {}
        return system

    def record_system(self, name: str, image_id: str) -> None:
        """Record one of the emulator's own shared images (the pause image, a stand-in)."""
        with self._ctx.lock:
            system = self.system_images()
            system[name] = image_id
            self._ctx.state.update("system_images", system)

    def owners(self, image_id: str, image: Image | None = None) -> set[str]:
        """The users that own `image_id` alone (not an image that was there before them);
        `FOREIGN` when another emulator instance labelled it as one of its users'."""
        found = {
            user
            for user, own in self.records().items()
            for record in own.values()
            if record.get("id") == image_id and not record.get("preexisting")
        }
        labels = (image.labels if image is not None else None) or {}
        if labels.get(LABEL_USER):
            if labels.get(LABEL_EMULATOR) == self._ctx.instance:
                found.add(str(labels[LABEL_USER]))
            else:
                found.add(FOREIGN)
        return found

    def is_system(self, image_id: str) -> bool:
        """Whether `image_id` is one of the emulator's own shared images."""
        return image_id in self.system_images().values()

    def own(self, user: str, name: str) -> tuple[str, dict[str, Any]] | None:
        """(name, record) of the name the emulator wrote for `user`, or None."""
        for key, record in (self.records().get(user) or {}).items():
            if same_image(key, name):
                return key, record
        return None

    def check(self, user: str, ref: str, image: Image) -> None:
        """Raise `ImageAccessDenied` unless `user` may use `image` (named `ref`)."""
        image_id = object_id(image)
        if self.is_system(image_id):
            return
        owners = self.owners(image_id, image)
        if owners and user not in owners:
            raise denied(ref)

    def resolve(self, user: str, ref: str, own_names: bool = True) -> Resolved | None:
        """The image a user's reference names, once it is known the user may use it.

        The one place where a reference becomes an image (runs, `FROM`, `COPY --from`):

        1. With `own_names` (a pod's image): `ref` or `<user>-<ref>` that the emulator wrote
           for this user is the image ID recorded then; the tag in the engine is not read.
        2. Otherwise the reference is resolved as the engine resolves it (names with or
           without `docker.io/library/`, `:latest`, digests, full or short IDs); an onboard
           registry name (`fpga.dphi.space:5000/X`) the engine lacks is its local stand-in
           (`--registry-map`).
        3. The image's ID must be the user's own, the emulator's (`system_images`), or no
           user's (an image the machine's owner put in the engine); an image another user
           owns (by the record or by its labels) is refused as if it did not exist.

        Args:
            user: The caller.
            ref: The reference as the user wrote it.
            own_names: Read step 1 (a pod's image); a build's references are read as the
                engine will read them, so without it.

        Returns:
            The image, or None when the engine has nothing of that name.

        Raises:
            ImageAccessDenied: The image is another user's.
        """
        if own_names:
            for name in (f"{user}-{ref}", ref):
                mine = self.own(user, name)
                if mine is None:
                    continue
                image = self._get(str(mine[1]["id"]))
                if image is not None and object_id(image) == mine[1]["id"]:
                    return Resolved(image, object_id(image), mine[0])
        image = self._get(ref)
        if image is None:
            source = _dockerfile.onboard_source(ref, self._ctx.config.registry_map)
            image = self._get(source) if source is not None else None
        if image is None:
            return None
        self.check(user, ref, image)
        return Resolved(image, object_id(image), ref)
