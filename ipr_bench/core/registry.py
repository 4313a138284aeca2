"""Name → factory registries for codecs, recognizers and datasets.

Built-in plugins register with a decorator when their package is imported; third-party packages register
through the entry-point groups ``ipr_bench.codecs``, ``ipr_bench.recognizers``, ``ipr_bench.datasets`` and
``ipr_bench.landmarkers``, ``ipr_bench.producers``
(each entry point names a module to import or a factory to register under the entry point's name).

A name may carry an argument after a colon (``onnx:/path/model.onnx``): the factory receives it.
"""

from __future__ import annotations

import fnmatch
import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from ipr_bench.core.errors import UnknownNameError

Factory = Callable[..., Any]


class Registry:
    def __init__(self, kind: str, entry_point_group: str, builtin_package: str | None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.builtin_package = builtin_package
        self._factories: dict[str, Factory] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[Factory], Factory]:
        def decorator(factory: Factory) -> Factory:
            if name in self._factories and self._factories[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            if isinstance(factory, type):  # a plugin class states its name once, here; its ``name`` is this
                own = factory.__dict__.get("name")
                if own is not None and own != name:
                    raise ValueError(f"{self.kind} {name!r}: the class calls itself {own!r}")
                factory.name = name  # type: ignore[attr-defined]
            self._factories[name] = factory
            return factory

        return decorator

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.builtin_package:
            importlib.import_module(self.builtin_package)
        for ep in entry_points(group=self.entry_point_group):
            obj = ep.load()  # a module registers on import; a callable is registered under the ep's name
            if callable(obj) and not isinstance(obj, ModuleType):
                self._factories.setdefault(ep.name, obj)

    def names(self, pattern: str = "*") -> list[str]:
        self._load()
        return sorted(n for n in self._factories if fnmatch.fnmatch(n, pattern))

    def items(self) -> list[tuple[str, Any]]:
        """(name, entry) in registration order: built-ins as their module lists them, then entry points."""
        self._load()
        return list(self._factories.items())

    def get(self, spec: str) -> tuple[Factory, str | None]:
        """Factory and argument for ``name`` or ``name:argument``."""
        self._load()
        name, _, arg = spec.partition(":")
        if name not in self._factories:
            known = ", ".join(self.names()) or "(none)"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known {self.kind}s: {known}")
        return self._factories[name], (arg or None)

    def create(self, spec: str, **kwargs: Any) -> Any:
        factory, arg = self.get(spec)
        return factory(arg, **kwargs) if arg is not None else factory(**kwargs)


CODECS = Registry("codec", "ipr_bench.codecs", "ipr_bench.codecs")
RECOGNIZERS = Registry("recognizer", "ipr_bench.recognizers", "ipr_bench.recognizers")
DATASETS = Registry("dataset", "ipr_bench.datasets", "ipr_bench.datasets")
LANDMARKERS = Registry("landmarker", "ipr_bench.landmarkers", "ipr_bench.landmarkers")
PRODUCERS = Registry("producer", "ipr_bench.producers", "ipr_bench.training.train")  # what makes codecs: trainers

register_codec = CODECS.register
register_recognizer = RECOGNIZERS.register
register_dataset = DATASETS.register
register_landmarker = LANDMARKERS.register
register_producer = PRODUCERS.register


def create_codec(spec: str, **kwargs: Any) -> Any:
    return CODECS.create(spec, **kwargs)


def create_recognizer(spec: str, **kwargs: Any) -> Any:
    return RECOGNIZERS.create(spec, **kwargs)


def create_dataset(spec: str, **kwargs: Any) -> Any:
    return DATASETS.create(spec, **kwargs)


def create_landmarker(spec: str, **kwargs: Any) -> Any:
    return LANDMARKERS.create(spec, **kwargs)


def import_plugins(package: str, path: list[str]) -> None:
    """Import every module of a plugin folder, so each registers itself: one plugin, one file, no list to edit
    (modules whose names start with an underscore are left alone)."""
    import pkgutil

    for info in pkgutil.iter_modules(path):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package}.{info.name}")
