"""The onboard registry's catalogue: the base images a build or a pod on the EM can use.

On the EM, builds are air-gapped: only the images of CG2's onboard registry
(`fpga.dphi.space:5000/<name>:<tag>`) exist. Their list is the vendor's "Docker images"
page (DPhi Space public documentation, docs/2-specs/0-docker-imgs.md,
https://github.com/DPhi-Space/public-documentation), copied as `onboard-images.tsv` next to
this module: 135 name/tag pairs, with the version a moving tag pointed at when listed.

References are matched as the EM's engine would see them:

- `fpga.dphi.space:5000/python:3.12-alpine` is the catalogue's `python:3.12-alpine`;
- a bare `python:3.12-alpine` (the seed's examples use `busybox:latest`,
  `python:3.11-alpine`) is taken to be the same image: **an assumption**, that the onboard
  registry is the EM engine's mirror for Docker Hub names (the vendor's examples run such
  names, so they resolve somewhere onboard, and the catalogue is all there is);
- `docker.io/library/python:3.12` and `library/python:3.12` are Docker Hub's long forms of
  `python:3.12`; an untagged name means `:latest`; a digest is never in the catalogue.

`--catalogue FILE` replaces the list (same three tab-separated columns, a header line), and
`--any-image` turns the check off.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

#: The registry the EM's air-gapped builds take base images from.
ONBOARD_REGISTRY = "fpga.dphi.space:5000/"
#: Docker Hub's long forms of an official image's name.
_HUB_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "docker.io/", "library/")
#: Entries named in a refusal.
CLOSEST = 2
_HEADER = ("name", "tag", "version_when_listed")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One image of the onboard registry.

    Attributes:
        name: The repository (`python`, `grafana/grafana`, `mcr.microsoft.com/dotnet/sdk`).
        tag: The tag (`3.12-alpine`).
        version: What a moving tag pointed at when the vendor listed it ("" when not given).
    """

    name: str
    tag: str
    version: str = ""

    @property
    def ref(self) -> str:
        """`name:tag`."""
        return f"{self.name}:{self.tag}"

    @property
    def onboard(self) -> str:
        """The name a Dockerfile on the EM uses: `fpga.dphi.space:5000/name:tag`."""
        return ONBOARD_REGISTRY + self.ref


def normalise(ref: str) -> str | None:
    """`ref` as a catalogue key (`name:tag`), or None for a digest reference.

    The onboard registry's prefix and Docker Hub's long forms are dropped; an untagged name
    gets `:latest`.
    """
    ref = ref.strip()
    if "@" in ref:
        return None
    if ref.startswith(ONBOARD_REGISTRY):
        ref = ref[len(ONBOARD_REGISTRY) :]
    for prefix in _HUB_PREFIXES:
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


class Catalogue:
    """The onboard registry's images.

    Args:
        entries: The images, in the source's order.
        source: Where they were read from (shown by `images list`).
    """

    def __init__(self, entries: list[Entry], source: str) -> None:
        self.entries = list(entries)
        self.source = source
        self._by_ref = {entry.ref: entry for entry in self.entries}

    @classmethod
    def load(cls, path: Path | None = None) -> Catalogue:
        """The catalogue in `path` (a TSV: name, tag, version_when_listed, with a header
        line), or the vendor's list shipped with the emulator.

        Raises:
            ValueError: A line is not `name<TAB>tag[<TAB>version]`, or the file lists nothing.
            OSError: The file can't be read.
        """
        if path is None:
            text = resources.files(__package__).joinpath("onboard-images.tsv").read_text("utf-8")
            source = "the vendor's list (onboard-images.tsv, shipped with the emulator)"
        else:
            text = Path(path).read_text("utf-8")
            source = str(path)
        entries = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if tuple(field.strip() for field in fields) == _HEADER[: len(fields)]:
                continue
            if len(fields) not in (2, 3) or not fields[0].strip() or not fields[1].strip():
                raise ValueError(
                    f"{source}, line {number}: expected name<TAB>tag[<TAB>version], got {line!r}"
                )
            name, tag = fields[0].strip(), fields[1].strip()
            version = fields[2].strip() if len(fields) == 3 else ""
            entries.append(Entry(name, tag, version))
        if not entries:
            raise ValueError(f"{source}: lists no image")
        return cls(entries, source)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def lookup(self, ref: str) -> Entry | None:
        """The entry `ref` names (see the module docstring for the forms), or None."""
        key = normalise(ref)
        return self._by_ref.get(key) if key is not None else None

    def closest(self, ref: str, count: int = CLOSEST) -> list[Entry]:
        """The `count` entries most like `ref`: the nearest tags of the same name when the
        catalogue has that name, else the nearest names."""
        key = normalise(ref) or ref
        name, _, tag = key.rpartition(":")
        same = [entry for entry in self.entries if entry.name == name]
        # ties go to the later entry (the vendor lists versions oldest first)
        if same:
            ranked = sorted(enumerate(same), key=lambda p: (-_likeness(tag, p[1].tag), -p[0]))
        else:
            ranked = sorted(
                enumerate(self.entries), key=lambda p: (-_likeness(key, p[1].ref), -p[0])
            )
        return [entry for _, entry in ranked[:count]]

    def refusal(self, ref: str) -> str:
        """`<ref>: not in the onboard registry; closest: a, b` (and how to look)."""
        closest = ", ".join(entry.ref for entry in self.closest(ref))
        return (
            f"{ref}: not in the onboard registry; closest: {closest} "
            "(all: dphi-em emulator images list)"
        )


def _likeness(a: str, b: str) -> float:
    """How alike two names are: a shared start counts most (`3.12-slim` ~ `3.12-alpine`)."""
    shared = len(_common_start(a, b))
    return shared + difflib.SequenceMatcher(None, a, b).ratio()


def _common_start(a: str, b: str) -> str:
    end = 0
    while end < min(len(a), len(b)) and a[end] == b[end]:
        end += 1
    return a[:end]


class CatalogueCheck:
    """Whether the EM has an image: the catalogue's answer, under the emulator's options.

    Args:
        catalogue: The onboard registry's images.
        any_image: `--any-image`: accept every reference.
        declared: References the emulator was told stand for local images (the exact
            `--registry-map FROM=TO` entries): accepted as onboard images.
    """

    def __init__(
        self, catalogue: Catalogue, any_image: bool = False, declared: tuple[str, ...] = ()
    ) -> None:
        self.catalogue = catalogue
        self._any_image = any_image
        self._declared = {normalise(ref) for ref in declared}

    @classmethod
    def of(cls, config: Any) -> CatalogueCheck:
        """The check an `EmulatorConfig` asks for (`catalogue`, `any_image`, `registry_map`).

        Raises:
            ValueError: The catalogue file is not a catalogue.
            OSError: It can't be read.
        """
        declared = tuple(key for key in config.registry_map if not key.endswith("/"))
        return cls(Catalogue.load(config.catalogue), config.any_image, declared)

    def problem(self, ref: str) -> str | None:
        """Why the EM has no image `ref` (naming the closest entries), or None."""
        if self._any_image or self.catalogue.lookup(ref) is not None:
            return None
        if normalise(ref) in self._declared:
            return None
        return self.catalogue.refusal(ref)
