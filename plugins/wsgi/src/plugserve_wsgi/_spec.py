"""Finding the application that `--wsgi SPEC` names.

Three spellings are accepted:

- `module:name` (also `package.module:obj.attr`), as gunicorn and uvicorn write it;
- `module.name`, as `twistd web --wsgi helloworld.application` writes it: the longest prefix
  that is an importable module is the module, the rest are attributes;
- `module:factory()`, an application factory, called once (literal arguments allowed:
  `module:create_app("production")`).

Every failure is a UsageError that names the spec and what is wrong with it.
"""

from __future__ import annotations

import ast
import importlib
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from plugserve.error import UsageError

__all__ = ["AppSpec", "load_application", "parse_spec"]


@dataclass(frozen=True)
class AppSpec:
    """A parsed `--wsgi` value: where the object is, and the call that makes the app, if any."""

    text: str
    module: str | None  # None: find the longest importable prefix of `attrs`
    attrs: tuple[str, ...]
    args: tuple[Any, ...] | None = None  # not None: a factory, called with these
    kwargs: tuple[tuple[str, Any], ...] = ()


def parse_spec(text: str) -> AppSpec:
    """Parse `module:name`, `module.name` or `module:factory(args)` without importing."""
    module, sep, expression = text.strip().partition(":")
    if not sep:
        module, expression = "", module
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError:
        node = None
    call = node if isinstance(node, ast.Call) else None
    attrs = _dotted(call.func if call is not None else node)
    if attrs is None or not _is_module_path(module if sep else ".".join(attrs[:1])):
        raise UsageError(f"--wsgi {text}: give MODULE:NAME, MODULE.NAME or MODULE:FACTORY() "
                         "(e.g. --wsgi myapp:app)")
    if not sep and (len(attrs) < 2 or call is not None):
        raise UsageError(f"--wsgi {text}: name the application inside the module: "
                         f"{text}.application, or use MODULE:FACTORY() for a factory")
    if call is None:
        return AppSpec(text, module or None, attrs)
    try:
        args = tuple(ast.literal_eval(arg) for arg in call.args)
        kwargs = tuple((kw.arg, ast.literal_eval(kw.value)) for kw in call.keywords
                       if kw.arg is not None)
    except ValueError:
        raise UsageError(f"--wsgi {text}: a factory's arguments must be literals") from None
    if len(kwargs) != len(call.keywords):
        raise UsageError(f"--wsgi {text}: a factory's arguments must be literals")
    return AppSpec(text, module, attrs, args, kwargs)


def _dotted(node: ast.expr | None) -> tuple[str, ...] | None:
    """('a', 'b', 'c') for the expression a.b.c, else None."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    names.append(node.id)
    return tuple(reversed(names))


def _is_module_path(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def load_application(spec: AppSpec, *, call_factory: bool = True) -> Callable[..., Any]:
    """Import the module and return the application (or, with call_factory=False, the
    factory itself): a UsageError for any failure."""
    if spec.module is not None:
        target = _attribute(spec, _import(spec, spec.module), spec.attrs)
    else:
        target = _longest_module_prefix(spec)
    if not callable(target):
        raise UsageError(f"--wsgi {spec.text}: {'.'.join(spec.attrs)} is not callable (it is "
                         f"{type(target).__name__}); give a WSGI application or a factory with ()")
    if spec.args is None or not call_factory:
        return target
    try:
        app = target(*spec.args, **dict(spec.kwargs))
    except Exception as exc:  # noqa: BLE001 - reported to the person running the command
        raise UsageError(f"--wsgi {spec.text}: calling the factory raised "
                         f"{_where(exc)}{type(exc).__name__}: {exc}") from None
    if not callable(app):
        raise UsageError(f"--wsgi {spec.text}: the factory returned {type(app).__name__}, "
                         "not a WSGI application")
    return app  # type: ignore[no-any-return]


def _longest_module_prefix(spec: AppSpec) -> object:
    for split in range(len(spec.attrs) - 1, 0, -1):
        name = ".".join(spec.attrs[:split])
        try:
            module = _import(spec, name)
        except _Missing:
            continue
        return _attribute(spec, module, spec.attrs[split:])
    raise UsageError(f"--wsgi {spec.text}: no module named {spec.attrs[0]!r} (run plugserve "
                     f"from the folder that holds it, or install it); cwd is {os.getcwd()}")


class _Missing(UsageError):
    """The module itself (not something it imports) does not exist."""


def _import(spec: AppSpec, name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise _Missing(f"--wsgi {spec.text}: no module named {name!r} (run plugserve from "
                           f"the folder that holds it, or install it); cwd is {os.getcwd()}"
                           ) from None
        raise UsageError(f"--wsgi {spec.text}: importing {name} failed: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any error in the user's module is reported
        raise UsageError(f"--wsgi {spec.text}: importing {name} raised "
                         f"{_where(exc)}{type(exc).__name__}: {exc}") from None


def _attribute(spec: AppSpec, module: ModuleType, attrs: tuple[str, ...]) -> object:
    target: object = module
    for depth, attr in enumerate(attrs):
        try:
            target = getattr(target, attr)
        except AttributeError:
            owner = ".".join((module.__name__, *attrs[:depth]))
            raise UsageError(f"--wsgi {spec.text}: {owner} has no attribute {attr!r}") from None
    return target


def _where(exc: BaseException) -> str:
    """'file.py, line N: ' for the innermost frame of an exception, to find it fast."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    return f"({os.path.basename(frame.filename)}, line {frame.lineno}) "
