"""The spec pipeline: vendor Swagger 2.0 + overlay -> OpenAPI 3 -> em_api_client."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "openapi" / "em-api.json"
MERGED = ROOT / "openapi" / "em-api.openapi3.json"
BUILD = ROOT / "openapi" / "build.py"

EM_OPERATIONS = {
    # operationId: (method, path)
    "em_files_uplink_create": ("post", "/em/files/uplink"),
    "em_files_list_list": ("get", "/em/files/list"),
    "em_files_downlink_list": ("get", "/em/files/downlink"),
    "em_files_delete_create": ("post", "/em/files/delete"),
    "em_pod_image_build_create": ("post", "/em/pod/image/build"),
    "em_pod_image_load_create": ("post", "/em/pod/image/load"),
    "em_pod_image_list_list": ("get", "/em/pod/image/list"),
    "em_pod_namespace_create_create": ("post", "/em/pod/namespace/create"),
    "em_pod_run_create": ("post", "/em/pod/run"),
    "em_pod_status_list": ("get", "/em/pod/status"),
    "em_nodes_status_list": ("get", "/em/nodes/status"),
}

#: The January 2026 revision (em-api-contract.md), taken from the vendor's client.
JANUARY_OPERATIONS = {
    "em_files_list_create": ("post", "/em/files/list"),
    "em_pod_image_list_create": ("post", "/em/pod/image/list"),
    "em_pod_status_create": ("post", "/em/pod/status"),
    "em_nodes_status_create": ("post", "/em/nodes/status"),
    "em_pvc_list_create": ("post", "/em/pvc/list"),
    "em_pvc_delete_create": ("post", "/em/pvc/delete"),
}
NOVEMBER, JANUARY = "2025-11", "2026-01"


def vendor_operations() -> dict[str, str]:
    """operationId -> first tag, for every operation of the vendor file."""
    spec = yaml.safe_load(VENDOR.read_text(encoding="utf-8"))
    ops = {}
    for item in spec["paths"].values():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                ops[op["operationId"]] = op["tags"][0]
    return ops


def operation(op_id: str) -> Any:
    return importlib.import_module(f"em_api_client.api.em.{op_id}")


#: SHA-256 of the vendor's published em-api.json, the file openapi/em-api.json must stay.
#: Replacing the vendor file (see the README) means updating this on purpose.
VENDOR_SHA256 = "0a2dc607a91cd08b877c039cc37252e397054d165f41b6504cb21b05fc685eb8"


def test_vendor_file_is_verbatim() -> None:
    assert hashlib.sha256(VENDOR.read_bytes()).hexdigest() == VENDOR_SHA256
    upstream = ROOT.parent / "shared" / "upstream" / "em-api.json"
    if upstream.exists():  # beside a checkout of the project's workplace
        assert VENDOR.read_bytes() == upstream.read_bytes()


def test_generated_package_imports_and_is_typed() -> None:
    import em_api_client

    assert em_api_client.AuthenticatedClient is not None
    assert (Path(em_api_client.__file__).parent / "py.typed").exists()


def test_every_vendor_operation_is_still_generated() -> None:
    ops = vendor_operations()
    assert len(ops) > 40  # the dashboard resources are there too
    for op_id, tag in ops.items():
        module = importlib.import_module(f"em_api_client.api.{tag}.{op_id}")
        assert callable(module.sync_detailed), op_id


@pytest.mark.parametrize(
    "operations", [EM_OPERATIONS, JANUARY_OPERATIONS], ids=["2025-11", "2026-01"]
)
def test_every_em_operation_is_generated_with_its_path(operations: dict) -> None:
    merged = json.loads(MERGED.read_text(encoding="utf-8"))
    for op_id, (method, path) in operations.items():
        assert merged["paths"][path][method]["operationId"] == op_id
        source = inspect.getsource(operation(op_id)._get_kwargs)
        assert f'"method": "{method}"' in source
        assert f'"url": "{path}"' in source


def params(op_id: str) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(operation(op_id).sync_detailed).parameters)


def field_names(cls: type) -> set[str]:
    return {f.name for f in attrs.fields(cls)} - {"additional_properties"}


@pytest.mark.parametrize(
    ("op_id", "query"),
    [
        ("em_files_list_list", {"pod_name"}),
        ("em_files_downlink_list", {"filepath", "pod_name", "pvc_name"}),
        ("em_pod_status_list", {"pod_name"}),
        ("em_pod_status_create", {"pod_name"}),
        ("em_pod_image_list_list", set()),
        ("em_pod_image_list_create", set()),
        ("em_nodes_status_list", set()),
        ("em_nodes_status_create", set()),
        ("em_pod_namespace_create_create", set()),
        ("em_pvc_list_create", set()),
    ],
)
def test_query_parameters(op_id: str, query: set[str]) -> None:
    assert set(params(op_id)) - {"client"} == query
    if "filepath" in query:
        assert params(op_id)["filepath"].default is inspect.Parameter.empty  # required


def test_uplink_is_multipart_with_an_array_of_files() -> None:
    from em_api_client.models import EmUplinkRequest
    from em_api_client.types import File

    assert "EmUplinkRequest" in str(params("em_files_uplink_create")["body"].annotation)
    assert field_names(EmUplinkRequest) == {"files", "dest_path", "pod_name", "pvc_name"}
    body = EmUplinkRequest(
        files=[File(payload=b"one", file_name="a.txt"), File(payload=b"two", file_name="b.txt")],
        dest_path="dir",
    )
    parts = body.to_multipart()
    assert [name for name, _ in parts].count("files") == 2
    kwargs = operation("em_files_uplink_create")._get_kwargs(body=body)
    assert kwargs["method"] == "post"
    assert kwargs["url"] == "/em/files/uplink"
    assert "files" in kwargs


@pytest.mark.parametrize(
    ("op_id", "model", "fields", "required"),
    [
        (
            "em_files_delete_create",
            "EmDeleteRequest",
            {"filepath", "pod_name", "pvc_name"},
            {"filepath"},
        ),
        (
            "em_pod_image_build_create",
            "EmImageBuildRequest",
            {"dockerfile", "context", "image", "pod_name", "pvc_name"},
            {"dockerfile", "image"},
        ),
        (
            "em_pod_image_load_create",
            "EmImageLoadRequest",
            {"tarfile", "image", "pod_name", "pvc_name"},
            {"tarfile", "image"},
        ),
        ("em_pvc_delete_create", "EmPvcDeleteRequest", {"pvc_name"}, {"pvc_name"}),
        (
            "em_pod_run_create",
            "EmRunRequest",
            {
                "image",
                "max_duration",
                "node",
                "scheduled_time",
                "command",
                "args",
                "envs",
                "ports",
                "namespace",
                "pod_name",
                "pvc_name",
            },
            {"image", "max_duration"},
        ),
    ],
)
def test_json_bodies(op_id: str, model: str, fields: set[str], required: set[str]) -> None:
    models = importlib.import_module("em_api_client.models")
    cls = getattr(models, model)
    assert model in str(params(op_id)["body"].annotation)
    assert field_names(cls) == fields
    assert {f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING} == required


def test_run_body_is_typed() -> None:
    from em_api_client.models import EmNodeType, EmRunRequest

    assert {n.value for n in EmNodeType} == {"FPGA", "GPU", "MPU"}
    hints = {f.name: str(f.type) for f in attrs.fields(EmRunRequest)}
    assert "EmNodeType" in hints["node"]
    assert "datetime" in hints["scheduled_time"]
    assert hints["max_duration"] == "int"
    assert "list[str]" in hints["args"]
    assert "list[int]" in hints["ports"]
    assert "bool" in hints["namespace"]
    body = EmRunRequest.from_dict(
        {
            "image": "echo-test",
            "max_duration": 1,
            "node": "GPU",
            "scheduled_time": "2025-05-22T12:10:00+02:00",
            "command": "/bin/sh -c",
            "args": ["echo $SIZE > /data/out.txt"],
            "envs": {"SIZE": "1024"},
            "ports": [80],
            "namespace": True,
            "pod_name": "pod-a",
        }
    )
    assert body.node is EmNodeType.GPU
    assert body.scheduled_time.utcoffset() is not None  # type: ignore[union-attr]
    assert body.to_dict()["scheduled_time"] == "2025-05-22T12:10:00+02:00"
    with pytest.raises(ValueError, match="'fpga' is not a valid EmNodeType"):
        EmRunRequest.from_dict({"image": "x", "max_duration": 1, "node": "fpga"})


CONTRACT_PAYLOADS = {
    "EmFilesListResponse": {
        "message": "Successfully listed files",
        "data": [
            {
                "type": "file",
                "name": "downlink.txt",
                "size": "167",
                "time": "2025-11-20-12-31",
                "hash": 5686952638663605203,
            },
            {
                "type": "directory",
                "name": "echo-test",
                "size": "487",
                "time": "2025-11-20-11-30",
                "contents": [
                    {
                        "type": "file",
                        "name": "Dockerfile",
                        "size": "121",
                        "time": "2025-11-20-11-30",
                        "hash": -6285199279658827551,
                    }
                ],
            },
        ],
    },
    "EmPodStatusResponse": {
        "message": "Successfully fetched DPhi Pod status",
        "data": {"state": {"running": {"startedAt": "2025-11-20T12:31:12Z"}}},
    },
    "EmPodStatusResponse waiting": {
        "message": "Successfully fetched DPhi Pod status",
        "data": {
            "state": {
                "waiting": {
                    "reason": "ImagePullBackOff",
                    "message": 'Back-off pulling image "client1-echo-test12": ErrImagePull',
                }
            }
        },
    },
    "EmPodStatusResponse terminated": {
        "message": "Successfully fetched DPhi Pod status",
        "data": {
            "state": {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": "2025-11-20T12:31:12Z",
                    "finishedAt": "2025-11-20T12:32:12Z",
                }
            }
        },
    },
    "EmNodesStatusResponse": {
        "message": "Successfully fetched nodes status",
        "data": [
            {"name": "fpga", "status": "True"},
            {"name": "gpu", "status": "True"},
            {"name": "mpu1", "status": "False"},
        ],
    },
    "EmError": {
        "error": "BUILD_FAILED",
        "message": "Docker build failed",
        "log_tail": ["Step 1/3 : FROM missing\n", "ERROR: pull access denied\n"],
    },
    "EmUplinkResponse": {
        "message": "Successfully uplinked files",
        "data": {"file_count": 2, "total_size_kb": 1.5},
    },
    "EmImageListResponse": {"message": "Images", "data": ["client1-echo-test"]},
    "EmMessage": {"message": "Docker run scheduled successfully"},
    "EmPvcListResponse": {
        "message": "Successfully fetched volumes",
        "data": [
            {"name": "", "default": True, "size": 167, "file_count": 1},
            {"name": "pod-a", "default": False, "size": 0, "file_count": 0},
        ],
    },
    "EmPvcListResponse name only": {"message": "Volumes", "data": [{"name": "pod-a"}]},
}


@pytest.mark.parametrize("name", sorted(CONTRACT_PAYLOADS))
def test_models_round_trip_the_contract_payloads(name: str) -> None:
    models = importlib.import_module("em_api_client.models")
    payload = CONTRACT_PAYLOADS[name]
    parsed = getattr(models, name.split()[0]).from_dict(payload)
    assert parsed.to_dict() == payload


def test_file_tree_is_typed_and_nested() -> None:
    from em_api_client.models import EmFileNodeType, EmFilesListResponse

    tree = EmFilesListResponse.from_dict(CONTRACT_PAYLOADS["EmFilesListResponse"]).data
    assert tree[0].type_ is EmFileNodeType.FILE
    assert tree[0].hash_ == 5686952638663605203
    assert tree[1].contents[0].name == "Dockerfile"  # type: ignore[index]
    assert tree[1].contents[0].hash_ == -6285199279658827551  # type: ignore[index]


def run_build(vendor: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD), "--vendor", str(vendor), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("/em/files/downlink", "overlay action #6 (target $.paths['/em/files/downlink'].get"),
        ("/auth/refresh", "overlay action #3 (target $.paths['/auth/refresh'].post"),
    ],
)
def test_generation_fails_naming_the_action_that_matches_nothing(
    tmp_path: Path, path: str, action: str
) -> None:
    spec = yaml.safe_load(VENDOR.read_text(encoding="utf-8"))
    del spec["paths"][path]
    vendor = tmp_path / "em-api.json"
    vendor.write_text(yaml.safe_dump(spec), encoding="utf-8")
    proc = run_build(vendor, tmp_path / "out")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert action in proc.stderr
    assert "matched nothing" in proc.stderr
    assert not (tmp_path / "out" / "generated").exists()  # nothing half-written


def test_the_unchanged_vendor_file_builds(tmp_path: Path) -> None:
    proc = run_build(VENDOR, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "openapi" / "em-api.openapi3.json").read_bytes() == MERGED.read_bytes()


#: Names that the standard library gained in Python 3.11 (the project supports 3.10).
PY311_ONLY = {("typing", "Self"), ("enum", "StrEnum"), ("typing", "LiteralString")}


def test_generated_code_runs_on_python_3_10() -> None:
    import ast

    import em_api_client

    package = Path(em_api_client.__file__).parent
    sources = sorted(package.rglob("*.py"))
    assert len(sources) > 50
    for source in sources:
        tree = ast.parse(source.read_text(encoding="utf-8"), feature_version=(3, 10))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    assert (node.module, alias.name) not in PY311_ONLY, (source, alias.name)


def test_raw_uplink_lets_httpx_pick_a_random_boundary() -> None:
    from em_api_client.api.em import em_files_uplink_create
    from em_api_client.models import EmUplinkRequest
    from em_api_client.types import File

    kwargs = em_files_uplink_create._get_kwargs(
        body=EmUplinkRequest(files=[File(payload=b"--+++\r\n", file_name="a")])
    )
    # A fixed boundary (openapi-python-client 0.29 sends "+++") corrupts any file holding it.
    assert "Content-Type" not in kwargs.get("headers", {})


def _em_operations(merged: dict) -> dict[str, dict]:
    return {
        op["operationId"]: op
        for path, item in merged["paths"].items()
        if path.startswith("/em/")
        for method, op in item.items()
        if method in {"get", "post"}
    }


def test_every_em_operation_names_its_revisions() -> None:
    merged = json.loads(MERGED.read_text(encoding="utf-8"))
    ops = _em_operations(merged)
    assert set(ops) == set(EM_OPERATIONS) | set(JANUARY_OPERATIONS)
    only_november = {
        "em_files_list_list",
        "em_pod_image_list_list",
        "em_pod_namespace_create_create",
        "em_pod_status_list",
        "em_nodes_status_list",
    }
    for op_id, op in ops.items():
        if op_id in JANUARY_OPERATIONS:
            expected = [JANUARY]
        elif op_id in only_november:
            expected = [NOVEMBER]
        else:
            expected = [NOVEMBER, JANUARY]
        assert op["x-em-api-revisions"] == expected, op_id


@pytest.mark.parametrize("op_id", sorted(JANUARY_OPERATIONS))
def test_january_operations_say_where_they_come_from(op_id: str) -> None:
    merged = json.loads(MERGED.read_text(encoding="utf-8"))
    description = _em_operations(merged)[op_id]["description"]
    assert "January 2026" in description
    assert "vendor's client" in description
    assert "not its spec" in description


def test_pvc_name_is_on_every_volume_addressed_operation() -> None:
    merged = json.loads(MERGED.read_text(encoding="utf-8"))
    schemas = merged["components"]["schemas"]
    assert "vendor's client" in schemas["PvcName"]["description"]
    for model in (
        "EmUplinkRequest",
        "EmDeleteRequest",
        "EmImageBuildRequest",
        "EmImageLoadRequest",
        "EmRunRequest",
        "EmFilesListRequest",
    ):
        assert "pvc_name" in schemas[model]["properties"], model
    ops = _em_operations(merged)
    downlink = {p["name"] for p in ops["em_files_downlink_list"]["parameters"]}
    assert downlink == {"filepath", "pod_name", "pvc_name"}
    files_list = ops["em_files_list_create"]["requestBody"]["content"]
    assert list(files_list) == ["application/x-www-form-urlencoded"]


def test_january_calls_go_out_as_the_vendor_client_sends_them() -> None:
    from em_api_client.models import EmFilesListRequest, EmPvcDeleteRequest

    kwargs = operation("em_files_list_create")._get_kwargs(
        body=EmFilesListRequest(pvc_name="pod-a")
    )
    assert (kwargs["method"], kwargs["url"]) == ("post", "/em/files/list")
    assert kwargs["data"] == {"pvc_name": "pod-a"}
    kwargs = operation("em_pod_status_create")._get_kwargs(pod_name="pod-a")
    assert (kwargs["method"], kwargs["url"], kwargs["params"]) == (
        "post",
        "/em/pod/status",
        {"pod_name": "pod-a"},
    )
    kwargs = operation("em_pvc_delete_create")._get_kwargs(
        body=EmPvcDeleteRequest(pvc_name="pod-a")
    )
    assert (kwargs["method"], kwargs["url"], kwargs["json"]) == (
        "post",
        "/em/pvc/delete",
        {"pvc_name": "pod-a"},
    )
    kwargs = operation("em_pvc_list_create")._get_kwargs()
    assert (kwargs["method"], kwargs["url"]) == ("post", "/em/pvc/list")
    assert "json" not in kwargs
    assert "data" not in kwargs


def test_the_facade_s_generated_names_are_all_still_there() -> None:
    """Every generated module and model `dphi_em` imports exists (a rename breaks the facade)."""
    import ast

    facade = ROOT / "facade" / "dphi_em"
    for source in sorted(facade.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("em_api_client"):
                module = importlib.import_module(str(node.module))
                for alias in node.names:
                    assert hasattr(module, alias.name) or importlib.util.find_spec(
                        f"{node.module}.{alias.name}"
                    ), (source.name, node.module, alias.name)
