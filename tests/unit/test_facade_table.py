"""Every surface has every operation of the table, with its parameters, defaults and doc.

The surfaces: `EMClient`, `AsyncEMClient`, `Pod`/`AsyncPod` (volume operations, with
`pod_name` bound), the module-level helpers, and the CLI (a command per operation).
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable
from typing import Any

import click
import dphi_em
import pytest
from dphi_em import AsyncEMClient, AsyncPod, EMClient, Pod, ValidationError
from dphi_em._operations import OPERATIONS, Operation, implements, signature_mismatch
from dphi_em.cli import _app

OPS = list(OPERATIONS.values())


def _ids(op: Operation) -> str:
    return op.name


def test_the_table_holds_every_em_operation() -> None:
    assert set(OPERATIONS) == {
        "get_token",
        "uplink",
        "downlink",
        "downlink_folder",
        "sync_up",
        "sync_down",
        "files_list",
        "delete",
        "image_build",
        "image_load",
        "image_list",
        "namespace_create",
        "run",
        "pod_status",
        "pod_logs",
        "wait_for_pod",
        "nodes_status",
        "volumes",
        "delete_volume",
    }


@pytest.mark.parametrize("op", OPS, ids=_ids)
@pytest.mark.parametrize("surface", [EMClient, AsyncEMClient], ids=["sync", "async"])
def test_clients_have_every_operation(op: Operation, surface: type[Any]) -> None:
    method = getattr(surface, op.name)
    assert method.__operation__ is op
    assert signature_mismatch(op, method) is None
    assert method.__doc__ == op.doc  # same docs, sync and async
    assert inspect.iscoroutinefunction(method) == (surface is AsyncEMClient)


@pytest.mark.parametrize("op", [op for op in OPS if op.volume], ids=_ids)
@pytest.mark.parametrize(("client", "pod"), [(EMClient, Pod), (AsyncEMClient, AsyncPod)])
def test_a_client_method_made_from_the_table_reads_like_its_pod_twin(
    op: Operation, client: type[Any], pod: type[Any]
) -> None:
    # the client's methods are made from the operation (`surface_method`), the pod's written
    # out: the same name, result and parameters but `pod_name`
    method = getattr(client, op.name)
    twin = getattr(pod, op.pod_method or op.name)
    assert method.__name__ == op.name
    assert method.__qualname__ == f"{client.__name__}.{op.name}"
    signature, pod_signature = inspect.signature(method), inspect.signature(twin)
    assert signature.return_annotation == pod_signature.return_annotation
    assert [p for p in signature.parameters.values() if p.name != "pod_name"] == list(
        pod_signature.parameters.values()
    )


@pytest.mark.parametrize("op", OPS, ids=_ids)
@pytest.mark.parametrize("client", [EMClient, AsyncEMClient])
def test_a_bad_call_to_a_client_method_fails_at_the_call_naming_the_method(
    op: Operation, client: type[Any]
) -> None:
    # as a written-out method did: Python binds the arguments when the method is called, so
    # an async method's TypeError comes before any coroutine exists (not at its await), and
    # it names `EMClient.uplink`, not the table's `uplink`
    em = client("http://127.0.0.1:9", "user", "password")
    with pytest.raises(TypeError) as caught:
        getattr(em, op.name)(no_such_parameter=1)
    assert str(caught.value) == (
        f"{client.__name__}.{op.name}() got an unexpected keyword argument 'no_such_parameter'"
    )
    positional = [p for p in op.signature.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    with pytest.raises(TypeError, match=rf"^{client.__name__}\.{op.name}\(\) takes "):
        getattr(em, op.name)(*range(len(positional) + 1))


def test_a_traceback_through_a_client_method_made_from_the_table_shows_its_line() -> None:
    em = EMClient("http://127.0.0.1:9", "user", "password")
    with pytest.raises(ValidationError) as caught:
        em.delete(5)  # type: ignore[arg-type]
    frames = [f for f in traceback.extract_tb(caught.tb) if f.name == "delete"]
    assert frames[0].filename == "<EMClient.delete>"
    assert frames[0].line == "return _drive(self, _func(filepath, pod_name))"


@pytest.mark.parametrize("op", [op for op in OPS if op.volume], ids=_ids)
@pytest.mark.parametrize("surface", [Pod, AsyncPod], ids=["Pod", "AsyncPod"])
def test_every_volume_operation_has_a_pod_twin(op: Operation, surface: type[Any]) -> None:
    method = getattr(surface, op.pod_method or op.name)
    assert method.__operation__ is op
    assert signature_mismatch(op, method, bound=True) is None
    assert "pod_name" not in inspect.signature(method).parameters


@pytest.mark.parametrize("op", [op for op in OPS if op.name != "get_token"], ids=_ids)
def test_module_helpers_keep_the_client_signature(op: Operation) -> None:
    helper = getattr(dphi_em, op.name)
    assert helper.__operation__ is op
    assert inspect.signature(helper).parameters == {
        name: p
        for name, p in inspect.signature(getattr(EMClient, op.name)).parameters.items()
        if name != "self"
    }


def _cli_command(path: str) -> click.Command | None:
    words = path.split()
    command: click.Command | None = _app.app
    for word in words:
        if word.startswith("-"):
            assert command is not None
            assert any(word in p.opts for p in command.params), f"{path}: no option {word}"
            break
        if not isinstance(command, click.Group):
            return None
        command = command.commands.get(word)
    return command


@pytest.mark.parametrize("op", OPS, ids=_ids)
def test_every_operation_has_a_cli_command(op: Operation) -> None:
    assert op.cli is not None, f"{op.name} has no CLI command"
    assert _cli_command(op.cli) is not None, f"dphi-em {op.cli} is missing"


def test_a_surface_that_drifts_fails_at_import() -> None:
    from dphi_em import _operations as ops

    def files_list(pod_name: str | None = "") -> None:  # the old helpers' default
        """drifted"""

    with pytest.raises(TypeError, match="does not match operation files_list"):
        implements(ops.files_list)(files_list)

    def uplink(filepaths: Any, dest_path: str = "", pod_name: str | None = None) -> None:
        """no progress= (the old module helper)"""

    with pytest.raises(TypeError, match="does not match operation uplink"):
        implements(ops.uplink)(uplink)


def test_drift_helpers_default_to_the_default_volume_and_take_progress() -> None:
    for name in ("uplink", "downlink", "files_list", "delete", "pod_status", "wait_for_pod"):
        params = inspect.signature(getattr(dphi_em, name)).parameters
        assert params["pod_name"].default is None, name
    for name in ("uplink", "downlink"):
        assert "progress" in inspect.signature(getattr(dphi_em, name)).parameters


def test_drift_the_cli_takes_the_librarys_env_names(tmp_path: Any) -> None:
    from click.testing import CliRunner
    from dphi_em import _settings
    from dphi_em.cli import _config

    assert _config.ENV_URL is _settings.ENV_URL
    assert _config.DEFAULT_URL is _settings.DEFAULT_URL
    # `my.var` and `A-B` follow Kubernetes' rule, which the facade takes: so does --env now.
    # Nothing listens on port 9, so the command passes the option check and then fails to
    # connect (exit 8), rather than refusing the option (exit 2).
    result = CliRunner().invoke(
        _app.app,
        ["run", "img", "--env", "my.var=1", "--env", "A-B=2", "--retries", "0"],
        env={
            "DPHI_EM_URL": "http://127.0.0.1:9/",
            "DPHI_EM_USERNAME": "u",
            "DPHI_EM_PASSWORD": "p",
            "XDG_CONFIG_HOME": str(tmp_path),
        },
    )
    assert result.exit_code != 2, result.output
    bad = CliRunner().invoke(_app.app, ["run", "img", "--env", "1x=1"])
    assert bad.exit_code == 2
    assert "'1x'" in bad.output


def test_node_accepts_the_literal_names() -> None:
    hints: Callable[..., Any] = EMClient.run
    assert "NodeName" in str(inspect.signature(hints).parameters["node"].annotation)
