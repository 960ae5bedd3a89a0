"""A griffe extension for the API reference: the docstrings `@implements(op)` gives at import.

The public surfaces of `dphi_em` (`EMClient`, `AsyncEMClient`, `Pod`, `AsyncPod`, the module
helpers) mark each method `@implements(ops.NAME)` (or `@implements(ops.NAME, bound=True)` on a
pod handle), and `implements` sets the method's `__doc__` from the operation's function in
`_operations.py` when the module is imported. griffe reads the source without importing it,
so it would find no docstring there; this extension does what `implements` does, statically,
wherever the surfaces live (it looks through every module of the package).
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

BOUND_PREFIX = "On this pod (`pod_name` is the handle's name): "


def _operation_of(decorator: griffe.Decorator) -> tuple[str, bool] | None:
    """`("uplink", True)` for `@implements(ops.uplink, bound=True)`, else None."""
    try:
        call = ast.parse(str(decorator.value), mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "implements"):
        return None
    if not call.args or not isinstance(call.args[0], ast.Attribute):
        return None
    bound = any(
        k.arg == "bound" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )
    return call.args[0].attr, bound


def _without_pod_name(text: str) -> str:
    """The docstring without its `pod_name:` argument (a pod handle's method has none)."""
    lines = text.splitlines()
    out: list[str] = []
    skip_deeper_than: int | None = None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if skip_deeper_than is not None:
            if line.strip() and indent > skip_deeper_than:
                continue
            skip_deeper_than = None
        if line.lstrip().startswith(("pod_name:", "pod_name (")):
            skip_deeper_than = indent
            continue
        out.append(line)
    return "\n".join(out)


def _walk(obj: griffe.Object) -> Any:
    """Every object in `obj`, and in its modules and classes, in turn (no aliases)."""
    for member in obj.members.values():
        if member.is_alias:
            continue
        yield member
        if member.is_class or member.is_module:
            yield from _walk(member)


#: `files_list = _driven(ops.files_list, _call)`: a client method made from the operation.
_DRIVEN = re.compile(r"_driven\(ops\.(\w+), (\w+)\)")


def _driven_methods(pkg: griffe.Module, operations: griffe.Object) -> None:
    """Turn each `name = _driven(ops.name, drive)` of a client class into the method it makes
    at import (`_operations.surface_method`): `self` and the operation's parameters, its
    doc, and what `drive` returns (a plain call: what the operation's `Prepared` parses into).
    """
    for cls in [member for member in _walk(pkg) if member.is_class]:
        for name, member in list(cls.members.items()):
            if member.is_alias or not member.is_attribute:
                continue
            found = _DRIVEN.fullmatch(str(member.value))
            if found is None:
                continue
            op = operations.members[found.group(1)]
            drive = cls.members[found.group(2)]
            returns = op.returns
            if isinstance(returns, griffe.ExprSubscript) and str(returns.left) == "Prepared":
                returns = returns.slice
            else:
                returns = drive.returns
            parameters = griffe.Parameters(
                griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword),
                *(
                    griffe.Parameter(
                        p.name, annotation=p.annotation, kind=p.kind, default=p.default
                    )
                    for p in op.parameters
                ),
            )
            method = griffe.Function(
                name,
                lineno=member.lineno,
                endlineno=member.endlineno,
                parameters=parameters,
                returns=returns,
                docstring=griffe.Docstring(
                    op.docstring.value,
                    lineno=op.docstring.lineno,
                    endlineno=op.docstring.endlineno,
                    parser=op.docstring.parser,
                    parser_options=op.docstring.parser_options,
                ),
            )
            method.labels |= drive.labels & {"async"}
            cls.set_member(name, method)
            method.docstring.parent = method


class ImplementsDocstrings(griffe.Extension):
    """Give each `@implements(op)` method the docstring of `op`."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != "dphi_em":
            return
        operations = pkg.members.get("_operations")
        if operations is None:
            raise ValueError("dphi_em._operations not found: the table of operations moved?")
        _driven_methods(pkg, operations)
        for func in [member for member in _walk(pkg) if member.is_function]:
            for decorator in func.decorators:
                found = _operation_of(decorator)
                if found is None:
                    continue
                name, bound = found
                op = operations.members.get(name)
                if op is None or op.docstring is None:
                    raise ValueError(f"{func.path}: operation {name!r} has no docstring")
                text = op.docstring.value
                func.docstring = griffe.Docstring(
                    BOUND_PREFIX + _without_pod_name(text) if bound else text,
                    lineno=op.docstring.lineno,
                    endlineno=op.docstring.endlineno,
                    parent=func,
                    parser=op.docstring.parser,
                    parser_options=op.docstring.parser_options,
                )
