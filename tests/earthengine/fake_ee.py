"""A recording fake of the ``ee`` module: every attribute and call becomes a node of a tree.

``composite(fake, spec, region)`` then returns a ``Call`` whose receivers and arguments
hold the whole expression, which tests walk with ``chain`` and ``calls_named``. Functions
given to a call (``ImageCollection.map(fn)``) are traced with a placeholder image, so the
mapped expression is recorded too. Batch tasks and ``ee.data.listOperations`` are
scripted: ``start_errors`` are raised by successive ``start()`` calls, and started tasks
appear in the listing with the state in ``states`` (RUNNING by default).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Expr:
    """An attribute of the fake module or of an expression (not yet called)."""

    def __init__(self, fake: FakeEE, path: str, receiver: Expr | None = None, name: str = "") -> None:
        self._fake = fake
        self.path = path
        self.receiver = receiver
        self.name = name

    def __getattr__(self, name: str) -> Expr:
        if name.startswith("__"):
            raise AttributeError(name)
        return Expr(self._fake, f"{self.path}.{name}", self, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        traced = tuple(self._fake.trace(a) if callable(a) and not isinstance(a, Expr) else a for a in args)
        call = Call(self._fake, f"{self.path}()", self.receiver, self.name, traced, kwargs)
        self._fake.calls.append(call)
        hook = self._fake.hooks.get(self.path)
        return hook(call) if hook else call

    def __repr__(self) -> str:
        return self.path


class Call(Expr):
    """A method or function call: ``receiver.name(*args, **kwargs)``."""

    def __init__(
        self, fake: FakeEE, path: str, receiver: Expr | None, name: str, args: tuple, kwargs: dict
    ) -> None:
        super().__init__(fake, path, receiver, name)
        self.args = args
        self.kwargs = kwargs


@dataclass
class Traced:
    """A Python function passed to Earth Engine, with what it returned for a placeholder."""

    parameter: Expr
    body: Any


def chain(expr: Any) -> list[str]:
    """Names of the calls from the root to ``expr`` (``["ImageCollection", "filterDate", ...]``)."""
    names = []
    node = expr
    while isinstance(node, Expr):
        if isinstance(node, Call):
            names.append(node.name)
        node = node.receiver
    return names[::-1]


def step(expr: Any, name: str) -> Call:
    """The call named ``name`` on the chain leading to ``expr`` (receivers only, not arguments)."""
    node = expr
    while isinstance(node, Expr):
        if isinstance(node, Call) and node.name == name:
            return node
        node = node.receiver
    raise AssertionError(f"no {name}() on the chain {chain(expr)}")


def calls_named(expr: Any, name: str) -> list[Call]:
    """Every call named ``name`` anywhere in the tree under ``expr`` (receivers, arguments, traces)."""
    found: list[Call] = []
    _walk(expr, lambda call: found.append(call) if call.name == name else None, set())
    return found


def _walk(value: Any, visit: Callable[[Call], None], seen: set[int]) -> None:
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Call):
        visit(value)
        for item in (*value.args, *value.kwargs.values()):
            _walk(item, visit, seen)
    if isinstance(value, Expr):
        _walk(value.receiver, visit, seen)
    elif isinstance(value, Traced):
        _walk(value.body, visit, seen)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, visit, seen)


class FakeEEError(Exception):
    """Stands in for ``ee.EEException``."""


@dataclass
class FakeTask:
    """A batch task returned by ``Export.image.to*``."""

    fake: FakeEE
    call: Call
    id: str | None = None

    def start(self) -> None:
        self.fake.start_attempts += 1
        if self.fake.start_errors:
            raise self.fake.start_errors.pop(0)
        self.id = f"TASK{len(self.fake.started) + 1:04d}"
        self.fake.started.append(self)


@dataclass
class FakeEE:
    """The fake ``ee`` module."""

    calls: list[Call] = field(default_factory=list)
    hooks: dict[str, Callable[[Call], Any]] = field(default_factory=dict)
    start_errors: list[Exception] = field(default_factory=list)
    started: list[FakeTask] = field(default_factory=list)
    start_attempts: int = 0
    #: Task id -> state reported by listOperations (operation names: PENDING, SUCCEEDED...).
    states: dict[str, str] = field(default_factory=dict)
    #: Operation state given to newly started tasks.
    default_state: str = "RUNNING"
    EEException: type[Exception] = FakeEEError

    def __post_init__(self) -> None:
        self._root = Expr(self, "ee")
        self.hooks.update(
            {
                "ee.batch.Export.image.toDrive": lambda call: FakeTask(self, call),
                "ee.batch.Export.image.toCloudStorage": lambda call: FakeTask(self, call),
                "ee.data.listOperations": lambda call: self.operations(),
            }
        )

    def __getattr__(self, name: str) -> Expr:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._root, name)

    def trace(self, function: Callable[[Expr], Any]) -> Traced:
        parameter = Expr(self, "<image>")
        return Traced(parameter, function(parameter))

    def operations(self) -> list[dict[str, Any]]:
        return [
            {
                "name": f"projects/p/operations/{task.id}",
                "metadata": {"state": self.states.get(str(task.id), self.default_state)},
            }
            for task in self.started
        ]

    def called(self, path: str) -> list[Call]:
        """Calls of a module-level function, e.g. ``ee.Initialize``."""
        return [call for call in self.calls if call.path == f"{path}()"]
