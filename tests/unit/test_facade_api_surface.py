"""The public face: `__all__` is sorted and matches each module, names of the contract exist."""

from __future__ import annotations

import importlib
import inspect

import dphi_em
import pytest

MODULES = [
    "dphi_em._async._auth",
    "dphi_em._async._backend",
    "dphi_em._async._client",
    "dphi_em._async._closing",
    "dphi_em._async._pod",
    "dphi_em._async._streams",
    "dphi_em._async._transport",
    "dphi_em._auth",
    "dphi_em._config",
    "dphi_em._default",
    "dphi_em._download",
    "dphi_em._errors",
    "dphi_em._models",
    "dphi_em._progress",
    "dphi_em._sync._auth",
    "dphi_em._sync._backend",
    "dphi_em._sync._client",
    "dphi_em._sync._closing",
    "dphi_em._sync._pod",
    "dphi_em._sync._streams",
    "dphi_em._sync._transport",
    "dphi_em._synchronization",
    "dphi_em._transports._bounds",
    "dphi_em._transports._network",
    "dphi_em._transports._pool",
    "dphi_em._uplink",
    "dphi_em._validate",
]


def _sorted_like_ruff(names: list[str]) -> list[str]:
    # RUF022 "isort-style": SCREAMING_CASE, then CamelCase, then the rest.
    def key(name: str) -> tuple[int, str]:
        if name.isupper():
            return (0, name)
        if name[0].isupper():
            return (1, name)
        return (2, name)

    return sorted(names, key=key)


def test_package_all_is_sorted_and_complete() -> None:
    assert dphi_em.__all__ == _sorted_like_ruff(list(dphi_em.__all__))
    for name in dphi_em.__all__:
        assert hasattr(dphi_em, name), name
    public = {
        name
        for name, value in vars(dphi_em).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(dphi_em.__all__)


@pytest.mark.parametrize("module_name", MODULES)
def test_module_all_is_sorted_and_matches_its_definitions(module_name: str) -> None:
    module = importlib.import_module(module_name)
    names = list(module.__all__)
    assert names == _sorted_like_ruff(names)
    for name in names:
        assert hasattr(module, name), f"{module_name}.{name}"
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", module_name) == module_name
        and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert defined <= set(names), defined - set(names)


def test_contract_names_exist() -> None:
    from dphi_em import EMClient, EMError, Pod  # noqa: F401

    for method in (
        "get_token",
        "uplink",
        "downlink",
        "files_list",
        "delete",
        "image_build",
        "image_load",
        "image_list",
        "namespace_create",
        "run",
        "pod_status",
        "wait_for_pod",
        "nodes_status",
        "pod",
        "raw",
        "close",
        "__enter__",
        "__exit__",
    ):
        assert hasattr(EMClient, method), method
    for method in ("uplink", "files_list", "downlink", "delete", "run", "status", "wait"):
        assert hasattr(Pod, method), method
    for helper in (
        "get_token",
        "uplink",
        "downlink",
        "files_list",
        "delete",
        "image_build",
        "image_load",
        "image_list",
        "namespace_create",
        "run",
        "pod_status",
        "nodes_status",
    ):
        assert callable(getattr(dphi_em, helper)), helper


def test_issue_signatures() -> None:
    from dphi_em import EMClient

    params = inspect.signature(EMClient).parameters
    assert list(params)[:3] == ["base_url", "username", "password"]
    for name in ("timeout", "retry", "progress"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    run = inspect.signature(EMClient.run).parameters
    assert list(run)[1:] == [
        "image",
        "node",
        "max_duration",
        "command",
        "scheduled_time",
        "pod_name",
        "ports",
        "namespace",
        "args",
        "envs",
        "pvc_name",  # January 2026: another volume than the pod's own (after the vendor's order)
    ]
    assert run["node"].default == "FPGA"
    assert run["max_duration"].default == 1
    downlink = inspect.signature(EMClient.downlink).parameters
    assert downlink["downlink_folder"].default == "downlink/"
    assert downlink["overwrite"].default is False
    # None: the Dockerfile's folder, as `dphi-em image build` (issue 20)
    assert inspect.signature(EMClient.image_build).parameters["context"].default is None


def test_facade_never_imports_the_emulator() -> None:
    import subprocess
    import sys

    code = "import sys, dphi_em; print('dphi_em_emulator' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_docstrings_name_only_test_files_that_exist() -> None:
    """A module that says which test pins it names a file that is there (STYLE.md)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    named = {
        (source.relative_to(root).as_posix(), path)
        for folder in ("facade", "emulator", "scripts")
        for source in (root / folder).rglob("*.py")
        for path in re.findall(r"tests/[\w/]+\.py", source.read_text(encoding="utf-8"))
    }
    assert named, "no module names a test file: the scan reads nothing"
    missing = sorted((source, path) for source, path in named if not (root / path).exists())
    assert missing == []
