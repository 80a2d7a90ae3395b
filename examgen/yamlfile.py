"""YAML loading that remembers where every value stands (file:line:column),
so that validation errors can name the place and the fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedYaml:
    """A parsed YAML document plus the 1-based (line, column) of every key path."""

    path: Path
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, keypath: Path_) -> str:
        """'file:line:col' for the nearest known ancestor of keypath."""
        kp = tuple(keypath)
        while kp not in self.marks and kp:
            kp = kp[:-1]
        line, col = self.marks.get(kp, (1, 1))
        return f"{self.path}:{line}:{col}"


def format_keypath(keypath: Path_) -> str:
    out = ""
    for k in keypath:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out or "(top level)"


class DuplicateKey(Exception):
    def __init__(self, key: object, mark: yaml.Mark, first: tuple[int, int]):
        super().__init__(f"{mark.line + 1}:{mark.column + 1}: duplicate key '{key}' (first at line {first[0]}); "
                         "keep one of them")


class _Builder:
    def __init__(self) -> None:
        self.marks: dict[Path_, tuple[int, int]] = {}

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for knode, vnode in node.value:
                key = _construct(knode)
                if key in out:
                    raise DuplicateKey(key, knode.start_mark, self.marks[path + (str(key),)])
                out[key] = self.build(vnode, path + (str(key),))
                # a key's own mark is the more useful place for "unknown key" errors
                self.marks[path + (str(key),)] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, path + (i,)) for i, v in enumerate(node.value)]
        return _construct(node)


# libyaml's parser when pyyaml has it (10x faster; same nodes and marks)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _construct(node: yaml.Node) -> Any:
    """PyYAML's safe constructor for one node (scalars, and keys)."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def load_yaml(path: Path, error_cls: type[Exception]) -> LoadedYaml:
    """Parse path; a syntax error becomes error_cls('file:line:col: ...')."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error_cls(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error_cls(f"{path}: cannot read file ({exc})") from None
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise error_cls(f"{where}: YAML syntax error: {problem}; check indentation, quotes and colons") from None
    except yaml.YAMLError as exc:
        raise error_cls(f"{path}: YAML error: {exc}") from None
    if node is None:
        return LoadedYaml(Path(path), None, {(): (1, 1)})
    builder = _Builder()
    try:
        data = builder.build(node, ())
    except DuplicateKey as exc:
        raise error_cls(f"{path}:{exc}") from None
    except yaml.YAMLError as exc:
        raise error_cls(f"{path}: YAML error: {str(exc).splitlines()[0]}") from None
    return LoadedYaml(Path(path), data, builder.marks)
