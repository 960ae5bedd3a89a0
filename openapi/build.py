"""The spec pipeline: vendor Swagger 2.0 + our Overlay -> OpenAPI 3 -> generated clients.

Steps, each done by a maintained, pinned tool (nothing here parses JSONPath or converts specs):

1. ``swagger2openapi`` (npm, pinned in ``openapi/package.json``) converts the vendor's
   Swagger 2.0 file (YAML syntax in a ``.json`` file) to OpenAPI 3.0.
2. ``oas-patch`` (PyPI, pinned) applies ``openapi/em-api.overlay.yaml`` (OpenAPI Overlay 1.0),
   after its overlay schema validates the document. Before each action is applied, its target is
   evaluated with the same JSONPath engine oas-patch uses (jsonpath-ng): an action that matches
   nothing fails the build, naming the action.
3. ``openapi-spec-validator`` validates the merged document, written to
   ``openapi/em-api.openapi3.json``.
4. ``openapi-python-client`` (pinned) generates ``generated/em_api_client`` with the settings of
   ``openapi/generator-config.yaml`` (its post hooks format the output with the pinned ruff).
5. The telemetry service's spec, ``openapi/tlm-api.yaml`` (OpenAPI 3.1, ours from the start:
   no vendor file, no overlay), is validated by ``openapi-spec-validator`` and generated into
   ``generated/tlm_api_client`` with ``openapi/tlm-generator-config.yaml``.

Usage::

    python openapi/build.py --out .          # regenerate in place (make generate)
    python openapi/build.py --check          # regenerate into a temp folder, fail on a difference
    python openapi/build.py --vendor F --out D   # another vendor file (tests)
    python openapi/build.py --tlm F --out D      # another telemetry spec (tests)
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from jsonpath_ng.ext import parse as jsonpath_parse
from oas_patch.overlay import apply_overlay
from oas_patch.validator import validate as validate_overlay_schema
from openapi_spec_validator import validate as validate_openapi

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENDOR = HERE / "em-api.json"
OVERLAY = HERE / "em-api.overlay.yaml"
CONFIG = HERE / "generator-config.yaml"
MERGED_NAME = "em-api.openapi3.json"
PACKAGE = "em_api_client"
TLM_SPEC = HERE / "tlm-api.yaml"
TLM_CONFIG = HERE / "tlm-generator-config.yaml"
TLM_PACKAGE = "tlm_api_client"


class PipelineError(Exception):
    """A step of the pipeline failed; the message says which and why."""


def convert(vendor: Path, workdir: Path) -> dict[str, Any]:
    """Convert the vendor's Swagger 2.0 file to OpenAPI 3.0 with swagger2openapi."""
    tool = HERE / "node_modules" / ".bin" / "swagger2openapi"
    if not tool.exists():
        raise PipelineError(
            f"{tool} is missing: run `npm ci` in openapi/ (`make generate` does it)"
        )
    out = workdir / "converted.json"
    proc = subprocess.run(
        [str(tool), "--outfile", str(out), str(vendor)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PipelineError(f"swagger2openapi failed on {vendor}:\n{proc.stderr or proc.stdout}")
    converted: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return converted


def load_overlay(path: Path) -> dict[str, Any]:
    """Read the overlay (YAML anchors expanded) and validate it against the Overlay 1.0 schema."""
    overlay: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # x-dphi-fragments holds the YAML anchors only; the schema allows x- extensions,
    # but they are dropped so that nothing of them can leak into the result.
    overlay = {k: v for k, v in overlay.items() if not k.startswith("x-")}
    report = validate_overlay_schema(overlay, "sh")
    if report.strip() != "Validation successful":
        raise PipelineError(f"{path} is not a valid OpenAPI Overlay 1.0 document:\n{report}")
    return overlay


def describe(index: int, action: dict[str, Any]) -> str:
    desc = action.get("description", "").strip()
    return f"overlay action #{index + 1} (target {action['target']}" + (
        f": {desc})" if desc else ")"
    )


def apply(doc: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Apply the overlay's actions in order; each target must match at least one node."""
    unmatched = []
    for index, action in enumerate(overlay["actions"]):
        if not jsonpath_parse(action["target"]).find(doc):
            unmatched.append(describe(index, action))
            continue
        # A private copy per action: YAML aliases share objects between actions.
        apply_overlay(doc, {"actions": [copy.deepcopy(action)]})
    if unmatched:
        raise PipelineError(
            "the vendor spec no longer has what these overlay actions target "
            "(they matched nothing):\n  - " + "\n  - ".join(unmatched)
        )
    return doc


def merge(vendor: Path, overlay_path: Path, workdir: Path) -> dict[str, Any]:
    doc = apply(convert(vendor, workdir), load_overlay(overlay_path))
    try:
        validate_openapi(doc)
    except Exception as exc:  # the validator raises several unrelated types
        raise PipelineError(f"the merged OpenAPI document is invalid: {exc}") from exc
    return doc


def dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def load_tlm(spec: Path) -> dict[str, Any]:
    """Read and validate the telemetry service's spec (OpenAPI 3.1)."""
    try:
        doc: dict[str, Any] = yaml.safe_load(spec.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PipelineError(f"cannot read the telemetry spec {spec}: {exc}") from exc
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        raise PipelineError(f"{spec} is not an OpenAPI 3.1 document")
    try:
        validate_openapi(doc)
    except Exception as exc:  # the validator raises several unrelated types
        raise PipelineError(f"the telemetry spec {spec} is invalid: {exc}") from exc
    return doc


def generate(merged: Path, out_pkg: Path, config: Path = CONFIG) -> None:
    """Run openapi-python-client on a spec into ``out_pkg`` (replaced)."""
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    if out_pkg.exists():
        shutil.rmtree(out_pkg)
    out_pkg.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            str(bindir / "openapi-python-client"),
            "generate",
            "--path",
            str(merged),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(out_pkg),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    # openapi-python-client exits 0 even when it skipped an endpoint: warnings are failures here.
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or "Warning" in output or "Error" in output:
        raise PipelineError(f"openapi-python-client failed or warned:\n{output}")
    shutil.rmtree(out_pkg / ".ruff_cache", ignore_errors=True)
    # PEP 561 marker: the generator's --meta none leaves it out; our wheel ships typed packages.
    (out_pkg / "py.typed").write_text("", encoding="utf-8")


def build(vendor: Path, overlay: Path, out_root: Path, tlm: Path = TLM_SPEC) -> None:
    """Write ``openapi/em-api.openapi3.json``, ``generated/em_api_client`` and
    ``generated/tlm_api_client`` under out_root (nothing when either spec fails)."""
    load_tlm(tlm)
    with tempfile.TemporaryDirectory(prefix="dphi-em-spec-") as tmp:
        doc = merge(vendor, overlay, Path(tmp))
    merged = out_root / "openapi" / MERGED_NAME
    merged.parent.mkdir(parents=True, exist_ok=True)
    merged.write_text(dump(doc), encoding="utf-8")
    generate(merged, out_root / "generated" / PACKAGE)
    generate(tlm, out_root / "generated" / TLM_PACKAGE, TLM_CONFIG)


def _files(root: Path) -> dict[str, bytes]:
    skip = {"__pycache__", ".ruff_cache"}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not skip.intersection(p.relative_to(root).parts)
    }


def file_diff(name: str, committed: bytes | None, regenerated: bytes | None) -> str | None:
    """A unified diff, or a one-line note, when the two versions of a file differ."""
    if committed == regenerated:
        return None
    if committed is None:
        return f"only in the regenerated tree: {name}"
    if regenerated is None:
        return f"only in the committed tree: {name}"
    a = committed.decode("utf-8").splitlines(keepends=True)
    b = regenerated.decode("utf-8").splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"committed/{name}", f"regenerated/{name}"))


def check(vendor: Path, overlay: Path, tlm: Path = TLM_SPEC) -> list[str]:
    """Regenerate into a temp folder; return the differences with the committed files."""
    with tempfile.TemporaryDirectory(prefix="dphi-em-check-") as tmp:
        out = Path(tmp)
        build(vendor, overlay, out, tlm)
        pairs: dict[str, tuple[bytes | None, bytes | None]] = {}
        merged = ROOT / "openapi" / MERGED_NAME
        pairs[f"openapi/{MERGED_NAME}"] = (
            merged.read_bytes() if merged.exists() else None,
            (out / "openapi" / MERGED_NAME).read_bytes(),
        )
        for package in (PACKAGE, TLM_PACKAGE):
            committed = _files(ROOT / "generated" / package)
            regenerated = _files(out / "generated" / package)
            for name in sorted(committed.keys() | regenerated.keys()):
                pairs[f"generated/{package}/{name}"] = (committed.get(name), regenerated.get(name))
    notes = [file_diff(name, a, b) for name, (a, b) in pairs.items()]
    return [note for note in notes if note]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendor", type=Path, default=VENDOR, help="the vendor's Swagger 2.0 file")
    parser.add_argument("--overlay", type=Path, default=OVERLAY, help="our Overlay 1.0 document")
    parser.add_argument("--tlm", type=Path, default=TLM_SPEC, help="the telemetry spec (3.1)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", type=Path, help="write openapi/ and generated/ under this folder")
    mode.add_argument("--check", action="store_true", help="fail when regeneration differs")
    args = parser.parse_args(argv)
    try:
        if args.check:
            notes = check(args.vendor, args.overlay, args.tlm)
            if notes:
                print("generated files differ from `make generate`:", file=sys.stderr)
                print("\n".join(notes[:20]), file=sys.stderr)
                if len(notes) > 20:
                    print(f"... and {len(notes) - 20} more", file=sys.stderr)
                return 1
            print("openapi/ and generated/ are what `make generate` makes")
        else:
            build(args.vendor, args.overlay, args.out, args.tlm)
            generated = args.out / "generated"
            print(
                f"wrote {args.out / 'openapi' / MERGED_NAME}, {generated / PACKAGE} and "
                f"{generated / TLM_PACKAGE}"
            )
    except PipelineError as exc:
        print(f"make generate: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
