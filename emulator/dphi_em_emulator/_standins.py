"""Offline stand-ins for the onboard registry's images that the engine lacks.

Nothing can be pulled on an air-gapped laptop or CI machine, yet the vendor's examples build
`FROM fpga.dphi.space:5000/python:3.12-alpine` and run `python:3.11-alpine`. For the
catalogue entries that Debian can stand in for, a local image is made the first time one is
needed (or ahead of time: `dphi-em emulator images prepare NAME...`):

- `busybox:*` and `alpine:*`: Debian's `busybox-static` in an image `FROM scratch` (the
  host's `/bin/busybox` for the host's architecture; for another one, the package of that
  architecture unpacked by `mmdebstrap --variant=extract`). Alpine's own `apk` is missing;
- `python:*`, `debian:bookworm*` and `distroless-python3-debian12`: one Debian bookworm root
  file system made with `mmdebstrap` (`python3`, `python-is-python3`, `python3-requests`,
  since the vendor's Python pods use it, `wget` and `ca-certificates`: Python 3.11; with a
  shell and the base tools);
- `debian:bullseye*`: a bullseye root file system (a shell and the base tools).

The Debian packages are unpacked (`mmdebstrap --variant=extract`, with their dependencies),
not configured: running every maintainer script under qemu took half an hour on a busy
machine, and failed. The image's build does the little they are needed for: users and groups
from base-passwd, the dynamic linker's cache (`ldconfig`), and the host's CA bundle.

Architecture: CG2 runs arm64. When the kernel runs arm64 programs (binfmt_misc's
`qemu-aarch64` handler, from Debian's `qemu-user-static`, registered and enabled), stand-ins
are made for arm64, so that builds `FROM` them run their `RUN` steps as arm64 and a pod sees
`platform.machine() == "aarch64"`; otherwise for the host's architecture, with a warning.
The image's architecture is set explicitly (a `FROM scratch` build with `platform`: `docker
import` alone would label an arm64 root file system amd64).

Everything else (CUDA/L4T images, databases, language toolchains...) has no offline stand-in:
the refusal says so, and `--pull` (with a registry at hand) pulls the real image.

Cache: a stand-in is made once per engine and recipe (what it was made from and for which
architecture: one root file system serves every tag of its recipe). The emulator's own record
(`standins.json` in the user's cache folder, keyed by the engine's ID and the recipe) maps the
recipe to the image ID, and an image is used only when the engine still has that ID with the
recipe's label: no engine tag a user could move is trusted. The images also carry the engine
tag `dphi-em-standin:<recipe>` (so that they are never dangling) and labels saying what they
stand in for. They belong to no user: any user's builds and pods may use them, none may
replace or retag them.
"""

from __future__ import annotations

import compileall
import contextlib
import dataclasses
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ._catalogue import CatalogueCheck, Entry

#: Labels of a stand-in image: its recipe, what it was made from, and that it is one.
LABEL_STANDIN = "space.dphi.em.standin"
LABEL_STANDIN_FROM = "space.dphi.em.standin.made-from"
LABEL_STANDIN_NOTE = "space.dphi.em.standin.note"
#: The engine tag of a stand-in (`dphi-em-standin:<recipe>`): for people, and against pruning.
STANDIN_REPOSITORY = "dphi-em-standin"
#: Debian's suite for the stand-ins (Python 3.11, as the vendor's `-py311` images).
SUITE = "bookworm"
#: The packages of the Python root file system.
PYTHON_PACKAGES = ("python3", "python-is-python3", "python3-requests", "wget", "ca-certificates")
#: What every Debian stand-in holds besides: a shell, the usual tools, users and groups.
BASE_PACKAGES = (
    "base-files",
    "base-passwd",
    "bash",
    "coreutils",
    "dash",
    "findutils",
    "grep",
    "gzip",
    "libc-bin",
    "mawk",
    "sed",
    "tar",
)
#: The host's CA bundle (Debian's ca-certificates), copied into stand-ins that hold
#: ca-certificates: its maintainer script, which would make it, is never run.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: What the image build does once the packages are unpacked (a few processes: cheap under
#: qemu, where running every maintainer script took half an hour on a busy machine).
_SETTLE = (
    "cp /usr/share/base-passwd/passwd.master /etc/passwd && "
    "cp /usr/share/base-passwd/group.master /etc/group && "
    "mkdir -p /tmp /root /data && chmod 1777 /tmp && /sbin/ldconfig"
)
#: Where binfmt_misc says whether the kernel runs arm64 programs.
BINFMT_AARCH64 = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
#: The static busybox of Debian's `busybox-static`.
HOST_BUSYBOX = Path("/bin/busybox")
#: Where a Debian root file system keeps Python modules.
_PYTHON_DIRS = ("usr/lib/python3.11/", "usr/lib/python3/dist-packages/")
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_JETSON = ("l4t", "jetson", "dinov3", "orin", "dphi-embedded-ml")
_DATABASES = (
    "cassandra",
    "elasticsearch",
    "influxdb",
    "mariadb",
    "mysql",
    "postgres",
    "redis",
)


class StandInError(Exception):
    """A stand-in could not be made (the message says why and what to do)."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How to make one stand-in image.

    Attributes:
        key: The cache key: what it is made from and for which architecture
            (`bookworm-python3-arm64`).
        kind: `busybox` or `debian`.
        arch: Debian's (and Docker's) architecture name: `amd64`, `arm64`.
        suite: The Debian suite (`bookworm`).
        packages: The Debian packages it holds.
        variant: mmdebstrap's variant (`extract`: unpacked, no maintainer script run), or
            "" for none (the host's busybox).
        cmd: The image's default command.
        made_from: One line saying what it is made from ("Debian bookworm's python3 3.11").
        duration: How long making it takes, roughly, for the message on first use.
    """

    key: str
    kind: str
    arch: str
    suite: str
    packages: tuple[str, ...]
    variant: str
    cmd: tuple[str, ...]
    made_from: str
    duration: str

    @property
    def tag(self) -> str:
        """The engine tag `dphi-em-standin:<key>`."""
        return f"{STANDIN_REPOSITORY}:{self.key}"


def host_arch() -> str:
    """This machine's architecture as Docker names it (`amd64`, `arm64`)."""
    machine = platform.machine().lower()
    return _ARCHES.get(machine, machine)


def runs_arm64(binfmt: Path = BINFMT_AARCH64) -> bool:
    """Whether the kernel runs arm64 programs: natively, or through an enabled
    `qemu-aarch64` binfmt_misc handler (Debian's `qemu-user-static`)."""
    if host_arch() == "arm64":
        return True
    try:
        return binfmt.read_text().splitlines()[0].strip() == "enabled"
    except (OSError, IndexError):
        return False


def default_arch(required: str | None = None) -> tuple[str, str | None]:
    """(the architecture to make stand-ins for, a warning or None).

    CG2's arm64 where the machine runs it; else the host's, saying so. `required` (the
    emulator's `--require-arch`) wins, failing when the machine can't run it.
    """
    if required is not None and required != "arm64":
        return required, None
    if runs_arm64():
        return "arm64", None
    why = (
        f"stand-ins are {host_arch()}, not CG2's arm64: no qemu-aarch64 binfmt_misc handler "
        "is enabled (apt-get install qemu-user-static binfmt-support; "
        "update-binfmts --enable qemu-aarch64)"
    )
    return host_arch(), why


def recipe_for(entry: Entry, arch: str) -> tuple[Recipe | None, str]:
    """The recipe of `entry`'s stand-in for `arch`, or (None, why there is none)."""
    name, tag = entry.name, entry.tag
    if name in ("busybox", "alpine"):
        version = _host_busybox_version() if arch == host_arch() else ""
        source = f"Debian's busybox-static {version}".rstrip()
        return (
            Recipe(
                key=f"busybox-static-{SUITE}-{arch}",
                kind="busybox",
                arch=arch,
                suite=SUITE,
                packages=("busybox-static",),
                variant="" if arch == host_arch() else "extract",
                cmd=("/bin/sh",),
                made_from=source + (" (no apk)" if name == "alpine" else ""),
                duration="a few seconds" if arch == host_arch() else "about a minute",
            ),
            "",
        )
    if (
        name == "python"
        or name == "distroless-python3-debian12"
        or (name == "debian" and tag.startswith("bookworm"))
    ):
        return (
            Recipe(
                key=f"{SUITE}-python3-{arch}",
                kind="debian",
                arch=arch,
                suite=SUITE,
                packages=BASE_PACKAGES + PYTHON_PACKAGES,
                variant="extract",
                cmd=("python3",),
                made_from=f"Debian {SUITE}'s python3 3.11",
                duration="about a minute" if arch == host_arch() else "about two minutes",
            ),
            "",
        )
    if name == "debian" and tag.startswith("bullseye"):
        return (
            Recipe(
                key=f"bullseye-minbase-{arch}",
                kind="debian",
                arch=arch,
                suite="bullseye",
                packages=BASE_PACKAGES,
                variant="extract",
                cmd=("bash",),
                made_from="Debian bullseye's base tools",
                duration="about a minute",
            ),
            "",
        )
    if any(word in name for word in _JETSON):
        why = "a Jetson image (NVIDIA L4T/CUDA)"
    elif name.rsplit("/", 1)[-1] in _DATABASES:
        why = "a database server"
    else:
        why = "its software is not in Debian's base system"
    return None, (
        f"{entry.ref} has no offline stand-in ({why}); with a registry at hand, --pull "
        "pulls the real image"
    )


def _host_busybox_version() -> str:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "busybox-static"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def compile_python(rootfs: Path, out: Path) -> bool:
    """Byte-compile the Python modules of the root file system tar `rootfs` into `out` (its
    `__pycache__` folders at their paths); False when this Python can't (not the stand-in's
    3.11, or no Python in it).

    The packages' maintainer scripts, which would compile them, are never run: without the
    `.pyc` files every pod compiles what it imports, which under qemu takes seconds
    (`python -m http.server` listened only after 10 s on a busy machine). A `.pyc` depends on
    the Python version only, not on the architecture, so the host compiles them.
    """
    if sys.version_info[:2] != (3, 11):
        return False
    source = out.parent / "pysrc"
    with tarfile.open(rootfs) as archive:
        members = [
            member
            for member in archive
            if member.isfile()
            and member.name.endswith(".py")
            and any(part in member.name for part in _PYTHON_DIRS)
        ]
        if not members:
            return False
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(source, members=members, **safe)  # noqa: S202 (.py files only)
    # (a few modules are test data that does not compile: the rest is what counts)
    compileall.compile_dir(source, quiet=2, stripdir=str(source), prependdir="/", workers=0)
    for path in sorted(source.rglob("__pycache__")):
        target = out / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    shutil.rmtree(source)
    return out.is_dir()


def default_record_path() -> Path:
    """`$XDG_CACHE_HOME/dphi-em/standins.json` (default `~/.cache/dphi-em/standins.json`)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "dphi-em" / "standins.json"


class StandIns:
    """The stand-ins of one engine: found through the record, made when missing.

    Args:
        client: A `docker.DockerClient` of the engine.
        record: The record file (see `default_record_path`).
    """

    def __init__(self, client: Any, record: Path | None = None) -> None:
        self._client = client
        self._record = Path(record) if record is not None else default_record_path()
        self._engine_id: str | None = None

    @property
    def record_path(self) -> Path:
        """The record file."""
        return self._record

    def _engine(self) -> str:
        if self._engine_id is None:
            self._engine_id = str(self._client.info().get("ID") or "engine")
        return self._engine_id

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self._record.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def recorded(self, recipe: Recipe) -> dict[str, Any] | None:
        """The record of `recipe`'s stand-in (id, made, seconds), or None."""
        entry = (self._read().get(self._engine()) or {}).get(recipe.key)
        return entry if isinstance(entry, dict) else None

    def recorded_ids(self) -> set[str]:
        """The image IDs of this engine's recorded stand-ins."""
        entries = self._read().get(self._engine()) or {}
        return {str(entry.get("id")) for entry in entries.values() if isinstance(entry, dict)}

    def find(self, recipe: Recipe) -> Any:
        """The stand-in image of `recipe`, or None: the recorded ID, when the engine still
        has it with the recipe's label."""
        from docker.errors import DockerException

        entry = self.recorded(recipe)
        if entry is None:
            return None
        try:
            image = self._client.images.get(str(entry["id"]))
        except (DockerException, KeyError):
            return None
        if (image.labels or {}).get(LABEL_STANDIN) != recipe.key:
            return None
        return image

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One maker at a time on this machine (processes and threads alike)."""
        self._record.parent.mkdir(parents=True, exist_ok=True)
        with open(self._record.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def provide(self, recipe: Recipe, say: Callable[[str], None] = lambda _: None) -> Any:
        """The stand-in of `recipe`, made (and recorded) when missing; `say` hears one line
        before making it and one after.

        Raises:
            StandInError: It can't be made here (no mmdebstrap, no network, no arm64...).
        """
        image = self.find(recipe)
        if image is not None:
            return image
        with self._locked():
            image = self.find(recipe)  # another process made it meanwhile
            if image is not None:
                return image
            say(
                f"making a stand-in from {recipe.made_from} for linux/{recipe.arch}: first use, "
                f"{recipe.duration}"
            )
            started = time.monotonic()
            image = self._make(recipe)
            took = time.monotonic() - started
            data = self._read()
            data.setdefault(self._engine(), {})[recipe.key] = {
                "id": str(image.id),
                "made": time.time(),
                "seconds": round(took, 1),
                "made_from": recipe.made_from,
            }
            partial = self._record.with_suffix(".json.part")  # readers never see half of it
            partial.write_text(json.dumps(data, indent=1, sort_keys=True))
            partial.replace(self._record)
            say(f"made stand-in {recipe.tag} ({image.id[:19]}) in {took:.0f} s")
            return image

    def _make(self, recipe: Recipe) -> Any:
        if recipe.arch == "arm64" and not runs_arm64():
            raise StandInError(
                "this machine can't run arm64 programs (no qemu-aarch64 binfmt_misc handler "
                "enabled): apt-get install qemu-user-static binfmt-support"
            )
        with tempfile.TemporaryDirectory(prefix="dphi-em-standin-") as tmp:
            folder = Path(tmp)
            if recipe.kind == "busybox" and not recipe.variant:
                if not HOST_BUSYBOX.is_file():
                    raise StandInError(
                        f"no {HOST_BUSYBOX} to make a busybox stand-in from "
                        "(apt-get install busybox-static)"
                    )
                shutil.copy(HOST_BUSYBOX, folder / "busybox")
                steps = ["COPY busybox /bin/busybox"]
            else:
                self._debootstrap(recipe, folder / "rootfs.tar")
                steps = ["ADD rootfs.tar /"]
                if compile_python(folder / "rootfs.tar", folder / "pyc"):
                    steps.append("COPY pyc/ /")
            if recipe.kind == "busybox":
                steps += [
                    'RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/sbin", "/usr/sbin", '
                    '"/tmp", "/data", "/etc", "/root"]',
                    'RUN ["/bin/busybox", "--install", "-s"]',
                    'RUN ["/bin/busybox", "chmod", "1777", "/tmp"]',
                ]
            else:
                if "ca-certificates" in recipe.packages and HOST_CA_BUNDLE.is_file():
                    shutil.copy(HOST_CA_BUNDLE, folder / "ca-certificates.crt")
                    steps += ["COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt"]
                steps += [f"RUN {json.dumps(['/bin/sh', '-c', _SETTLE])}", "ENV LANG=C.UTF-8"]
            cmd = json.dumps(list(recipe.cmd))
            dockerfile = "\n".join(["FROM scratch", *steps, f"CMD {cmd}", ""])
            (folder / "Dockerfile").write_text(dockerfile)
            return self._build(recipe, folder)

    def _debootstrap(self, recipe: Recipe, out: Path) -> None:
        mmdebstrap = shutil.which("mmdebstrap")
        if mmdebstrap is None:
            raise StandInError(
                f"mmdebstrap is needed to make a stand-in from {recipe.made_from} "
                "(apt-get install mmdebstrap)"
            )
        command = [
            mmdebstrap,
            "--quiet",
            f"--variant={recipe.variant}",
            f"--architectures={recipe.arch}",
            "--aptopt=APT::Install-Recommends false",
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
        ]
        if recipe.packages:
            command.append("--include=" + ",".join(recipe.packages))
        command += [recipe.suite, str(out)]
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise StandInError(
                f"mmdebstrap failed making a stand-in from {recipe.made_from} for "
                f"{recipe.arch} (exit {proc.returncode}; needs Debian's mirror): {tail}"
            )

    def _build(self, recipe: Recipe, folder: Path) -> Any:
        from docker.errors import DockerException

        labels = {
            LABEL_STANDIN: recipe.key,
            LABEL_STANDIN_FROM: recipe.made_from,
            LABEL_STANDIN_NOTE: "a local stand-in made by the dphi-em emulator, not the onboard "
            "registry's image",
        }
        try:
            image, _ = self._client.images.build(
                path=str(folder),
                tag=recipe.tag,
                rm=True,
                forcerm=True,
                pull=False,
                network_mode="none",
                platform=f"linux/{recipe.arch}",
                labels=labels,
            )
        except DockerException as exc:
            raise StandInError(f"the engine could not build stand-in {recipe.tag}: {exc}") from exc
        return image


def describe(image: Any) -> str | None:
    """`stand-in: <made from>, linux/<arch>` when `image` is a stand-in, else None."""
    labels = (image.labels if image is not None else None) or {}
    if LABEL_STANDIN not in labels:
        return None
    arch = image.attrs.get("Architecture") or "?"
    return f"{labels.get(LABEL_STANDIN_FROM) or labels[LABEL_STANDIN]}, linux/{arch}"


class OnboardImages:
    """What the emulator's Docker engine asks of the catalogue and the stand-ins.

    Args:
        check: The catalogue, under the emulator's options.
        standins: The engine's stand-ins.
        required_arch: `--require-arch`: the stand-ins' architecture, when given.
    """

    def __init__(
        self, check: CatalogueCheck, standins: StandIns, required_arch: str | None = None
    ) -> None:
        self.catalogue = check.catalogue
        self.standins = standins
        self.problem = check.problem
        self.arch, self.arch_warning = default_arch(required_arch)

    def recipe(self, ref: str) -> tuple[Recipe | None, str]:
        """The stand-in recipe for `ref`, or (None, why none)."""
        entry = self.catalogue.lookup(ref)
        if entry is None:
            return None, f"{ref} is not in the onboard registry"
        return recipe_for(entry, self.arch)

    def note(self, ref: str) -> str | None:
        """The line a pod's status or a build log gets while `ref`'s stand-in is made."""
        recipe, _ = self.recipe(ref)
        if recipe is None:
            return None
        note = (
            f"standing in for {ref} with {recipe.made_from} (linux/{recipe.arch}): "
            f"first use, {recipe.duration}"
        )
        return f"{note}; {self.arch_warning}" if self.arch_warning else note

    def stand_in(self, ref: str, log: list[str] | None, make: bool) -> Any:
        """`ref`'s stand-in: the one made before, else (when `make`) a new one; None when
        there is none (the log says why)."""
        recipe, why = self.recipe(ref)
        if recipe is None:
            if log is not None and self.catalogue.lookup(ref) is not None:
                log.append(why + "\n")
            return None
        image = self.standins.find(recipe)
        if image is None and make:
            note = self.note(ref)
            if log is not None and note is not None:
                log.append(note + "\n")
            try:
                image = self.standins.provide(recipe)
            except StandInError as exc:
                if log is not None:
                    log.append(f"no stand-in for {ref}: {exc}\n")
                return None
        if image is not None and log is not None:
            log.append(f"onboard registry: {ref} is a local stand-in ({describe(image)})\n")
        return image

    def describe(self, image: Any) -> str | None:
        """`<made from>, linux/<arch>` when `image` is one of the recorded stand-ins (its ID,
        not its labels, which a user's image could copy), else None."""
        if image is None or str(image.id) not in self.standins.recorded_ids():
            return None
        return describe(image)

    def could_stand_in(self, ref: str) -> bool:
        """Whether `ref` has a recipe (made or not)."""
        return self.recipe(ref)[0] is not None


def onboard_images(config: Any, client: Any) -> OnboardImages:
    """The `OnboardImages` of an emulator's configuration (`catalogue`, `any_image`,
    `require_arch`, `standin_record`, the exact `registry_map` entries).

    Raises:
        ValueError: The catalogue file is not a catalogue.
        OSError: It can't be read.
    """
    return OnboardImages(
        CatalogueCheck.of(config), StandIns(client, config.standin_record), config.require_arch
    )
