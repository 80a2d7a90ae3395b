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


class KeyNotPlain(Exception):
    def __init__(self, mark: yaml.Mark, what: str):
        super().__init__(f"{mark.line + 1}:{mark.column + 1}: a key must be a plain value (text or a number), "
                         f"not {what}; check the colons and braces on this line")


class _Builder:
    def __init__(self) -> None:
        self.marks: dict[Path_, tuple[int, int]] = {}
        # PyYAML's safe constructor, one per document (a Loader made per value cost a tenth of a second
        # for the bank's 7,000 values: its reader, scanner and parser are never used here)
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):  # ({a: b}: c, [a]: c: YAML allows them, a dict does not)
                    raise KeyNotPlain(knode.start_mark,
                                      "a mapping" if isinstance(knode, yaml.MappingNode) else "a list")
                key = self.construct(knode)
                if key in out:
                    raise DuplicateKey(key, knode.start_mark, self.marks[path + (str(key),)])
                out[key] = self.build(vnode, path + (str(key),))
                # a key's own mark is the more useful place for "unknown key" errors
                self.marks[path + (str(key),)] = (knode.start_mark.line + 1, knode.start_mark.column + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(v, path + (i,)) for i, v in enumerate(node.value)]
        return self.construct(node)

    def construct(self, node: yaml.Node) -> Any:
        """PyYAML's safe constructor for one node (scalars, and keys)."""
        return self.constructor.construct_object(node, deep=True)


# libyaml's parser when pyyaml has it (10x faster; same nodes and marks)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


#: How many values a document may expand to through aliases (*name) before it is refused:
#: a real spec or pool file has a few thousand; a "billion laughs" bomb has billions.
MAX_EXPANDED = 100_000


def _check_aliases(text: str, path: Path, error_cls: type[Exception]) -> None:
    """Refuse a document whose aliases expand it past MAX_EXPANDED values, at the alias
    that crosses the limit, before anything is expanded (one linear pass over the events)."""
    if "*" not in text:
        return
    size: dict[str, int] = {}  # anchor -> how many values it expands to
    open_: list[list[Any]] = []  # the collections being read: [anchor, values so far]
    total = 0
    for ev in yaml.parse(text, Loader=_LOADER):
        if isinstance(ev, (yaml.ScalarEvent, yaml.CollectionStartEvent, yaml.AliasEvent)):
            n = size.get(ev.anchor or "", 1) if isinstance(ev, yaml.AliasEvent) else 1
            total += n
            for frame in open_:
                frame[1] += n
            if isinstance(ev, yaml.AliasEvent) and total > MAX_EXPANDED:
                m = ev.start_mark
                raise error_cls(f"{path}:{m.line + 1}:{m.column + 1}: the alias '*{ev.anchor}' expands the "
                                f"document past {MAX_EXPANDED} values (a YAML alias bomb?); write the values "
                                "out or use fewer aliases")
            if isinstance(ev, yaml.CollectionStartEvent):
                open_.append([ev.anchor, 1])
            elif isinstance(ev, yaml.ScalarEvent) and ev.anchor:
                size[ev.anchor] = 1
        elif isinstance(ev, yaml.CollectionEndEvent):
            anchor, n = open_.pop()
            if anchor:
                size[anchor] = n


def read_bytes(path: Path, error_cls: type[Exception]) -> bytes:
    """The bytes of a file, read once (a pipe or /dev/fd/N can be read only once)."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise error_cls(f"{path}: file not found") from None
    except OSError as exc:
        raise error_cls(f"{path}: cannot read file ({exc})") from None


def load_yaml(path: Path, error_cls: type[Exception], raw: bytes | None = None) -> LoadedYaml:
    """Parse path (or `raw`, its bytes already read); a syntax error becomes
    error_cls('file:line:col: ...')."""
    if raw is None:
        raw = read_bytes(path, error_cls)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error_cls(f"{path}: cannot read file ({exc})") from None
    try:
        _check_aliases(text, path, error_cls)
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
    except (DuplicateKey, KeyNotPlain) as exc:
        raise error_cls(f"{path}:{exc}") from None
    except yaml.YAMLError as exc:
        raise error_cls(f"{path}: YAML error: {str(exc).splitlines()[0]}") from None
    return LoadedYaml(Path(path), data, builder.marks)
