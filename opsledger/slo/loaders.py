"""Load SLO specs from files and folders: OpenSLO v1, OpenSLO v1alpha (as Sloth reads it) and
Sloth ``prometheus/v1``, one or many YAML documents per file.

Every problem is one ``ConfigError`` line naming the file, the line, the document (when the file
holds several), the field as the user wrote it and the problem, e.g.
``slos.yaml:12 (document 2): spec.objectives[0].target: must be in (0, 1), got 1.5``.

Grouped SLOs — one instance per value of some columns (SQL sources) or labels (Prometheus) —
are set in OpenSLO v1 with the metadata annotation ``opsledger.io/group-by: service,tenant_id``
(see ``opsledger.slo.openslo``); a column the SQL table lacks is an error at that annotation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from opsledger.config import yaml_line
from opsledger.errors import ConfigError
from opsledger.slo import openslo, openslo_v1alpha, sloth
from opsledger.slo.spec import SLO, SpecProblem

SPEC_SUFFIXES = (".yaml", ".yml")
# Documents that may sit beside SLOs in a folder and are not SLOs themselves.
_OTHER_KINDS = {"Service", "AlertPolicy", "AlertCondition", "AlertNotificationTarget", "DataSource"}


@dataclass(frozen=True)
class Document:
    path: Path
    index: int  # 1-based
    count: int  # documents in the file
    data: Any
    node: yaml.Node | None

    def fail(self, loc: tuple[str | int, ...], message: str) -> ConfigError:
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        # a spec problem without a deeper position points at the document itself
        line = yaml_line(self.node, loc) or (self.node.start_mark.line + 1 if self.node else None)
        where = f"{self.path}{f':{line}' if line else ''}"
        if self.count > 1:
            where += f" (document {self.index})"
        return ConfigError(f"{where}: {field + ': ' if field else ''}{message}")


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, folders as their ``*.yaml`` / ``*.yml`` files (recursively, sorted)."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return files


def read_documents(path: Path) -> list[Document]:
    text = path.read_text(encoding="utf-8")
    try:
        datas = list(yaml.safe_load_all(text))
        nodes = list(yaml.compose_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    pairs = [(d, n) for d, n in zip(datas, nodes, strict=True) if d is not None]
    return [Document(path, i, len(pairs), d, n) for i, (d, n) in enumerate(pairs, start=1)]


def load_specs(paths: Iterable[str | Path], *, default_period: str = "30d") -> list[SLO]:
    """Every SLO in ``paths`` (files or folders), in file and document order.

    ``kind: SLI`` and ``kind: DataSource`` documents anywhere in ``paths`` can be referenced by
    name from OpenSLO v1 SLOs. ``default_period`` is the window of Sloth specs, which name none."""
    documents = [doc for path in expand(paths) for doc in read_documents(path)]
    for doc in documents:
        if not isinstance(doc.data, dict):
            raise doc.fail((), "a spec document must be a mapping")
    named = openslo.NamedDocuments()
    for doc in documents:
        if doc.data.get("apiVersion") == "openslo/v1" and doc.data.get("kind") in ("SLI", "DataSource"):
            _guard(doc, lambda d=doc: named.add(d.data))
    slos: list[SLO] = []
    for doc in documents:
        slos.extend(_guard(doc, lambda d=doc: _load_document(d, named, default_period)))
    return slos


def _load_document(doc: Document, named: openslo.NamedDocuments, default_period: str) -> list[SLO]:
    data = doc.data
    api, kind = data.get("apiVersion"), data.get("kind")
    if api == "openslo/v1":
        if kind == "SLO":
            return [openslo.slo_from_v1(data, doc.path, doc.index, named)]
        if kind == "SLI" or kind in _OTHER_KINDS:
            return []
        raise SpecProblem(("kind",), f"unknown OpenSLO v1 kind {kind!r}")
    if api == "openslo/v1alpha":
        if kind != "SLO":
            raise SpecProblem(("kind",), f"only kind: SLO is read from openslo/v1alpha, got {kind!r}")
        return openslo_v1alpha.slos_from_v1alpha(data, doc.path, doc.index)
    if "version" in data and api is None:
        return sloth.slos_from_prometheus_v1(data, doc.path, doc.index, default_period)
    if api == "sloth.slok.dev/v1" and kind == "AlertWindows":
        return []  # burn-rate window catalogs may share a folder with the specs
    if set(data) == {"groups"}:
        return []  # Prometheus rule files generated from the specs often sit beside them
    raise SpecProblem(
        ("apiVersion",) if api is not None else (),
        f"not an SLO spec (apiVersion {api!r}); expected apiVersion openslo/v1 or openslo/v1alpha, "
        "or Sloth's version: prometheus/v1",
    )


def _guard(doc: Document, load):
    try:
        return load()
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        shown = (
            "input" in error
            and not isinstance(error["input"], dict | list)
            and len(repr(error["input"])) < 80
        )
        if shown and repr(error["input"]) not in message and "got" not in message:
            message += f" (got {error['input']!r})"
        raise doc.fail(tuple(error["loc"]), message) from None
    except SpecProblem as exc:
        raise doc.fail(exc.loc, exc.message) from None
