"""A recording fake of the ``ee`` module: every attribute and call becomes a node of a tree.

``composite(fake, spec, region)`` then returns a ``Call`` whose receivers and arguments
hold the whole expression, which tests walk with ``chain`` and ``calls_named``. Functions
given to a call (``ImageCollection.map(fn)``) are traced with a placeholder image, so the
mapped expression is recorded too. Batch tasks and ``ee.data.listOperations`` are
scripted: ``start_errors`` are raised by successive ``start()`` calls, and started tasks
appear in the listing with the state in ``states`` (RUNNING by default).

The fake knows each collection's bands (``COLLECTION_BANDS``, as Earth Engine's catalog
lists them) and follows them along an image's chain (``bands_of``): selecting a band the
image lacks raises Earth Engine's error, and a started task whose image does so is FAILED
with its message, as Earth Engine accepts the task and fails it when it runs.
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
    return [call.name for call in _calls(expr)]


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


_QA = ("QA10", "QA20", "QA60", "MSK_CLASSI_OPAQUE", "MSK_CLASSI_CIRRUS", "MSK_CLASSI_SNOW_ICE")
_L2A = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12")
#: The bands of each collection an image may start from (Earth Engine's catalog).
COLLECTION_BANDS: dict[str, tuple[str, ...]] = {
    "COPERNICUS/S2_HARMONIZED": (*_L2A[:10], "B10", *_L2A[10:], *_QA),
    "COPERNICUS/S2_SR_HARMONIZED": (
        *_L2A,
        *("AOT", "WVP", "SCL", "TCI_R", "TCI_G", "TCI_B", "MSK_CLDPRB", "MSK_SNWPRB"),
        *_QA,
    ),
    "GOOGLE/CLOUD_SCORE_PLUS/V1/S2_HARMONIZED": ("cs", "cs_cdf"),
}


def bands_of(expr: Any) -> tuple[str, ...]:
    """The bands of an image built along ``expr``'s chain from ``ImageCollection(id)``.

    ``linkCollection`` adds the linked bands, ``select`` keeps the named ones.

    Raises:
        FakeEEError: as Earth Engine words it, for a selected band the image lacks.
    """
    bands: tuple[str, ...] = ()
    for call in _calls(expr):
        if call.name == "ImageCollection":
            bands = COLLECTION_BANDS[call.args[0]]
        elif call.name == "linkCollection":
            bands = (*bands, *call.args[1])
        elif call.name == "select":
            wanted = call.args[0] if isinstance(call.args[0], list) else list(call.args)
            missing = [band for band in wanted if band not in bands]
            if missing:
                raise FakeEEError(f"Image.select: Pattern '{missing[0]}' did not match any bands.")
            bands = tuple(wanted)
    return bands


def _calls(expr: Any) -> list[Call]:
    """The calls from the root to ``expr``, in order (receivers only, not arguments)."""
    calls = []
    node = expr
    while isinstance(node, Expr):
        if isinstance(node, Call):
            calls.append(node)
        node = node.receiver
    return calls[::-1]


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
        try:
            bands_of(self.call.kwargs.get("image"))
        except FakeEEError as error:
            self.fake.failures[self.id] = str(error)


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
    #: Task id -> the error Earth Engine fails it with when it runs (its image is invalid).
    failures: dict[str, str] = field(default_factory=dict)
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
        return [self._operation(str(task.id)) for task in self.started]

    def _operation(self, task_id: str) -> dict[str, Any]:
        name = f"projects/p/operations/{task_id}"
        if task_id in self.failures:
            return {
                "name": name,
                "metadata": {"state": "FAILED"},
                "error": {"message": self.failures[task_id]},
            }
        return {"name": name, "metadata": {"state": self.states.get(task_id, self.default_state)}}

    def called(self, path: str) -> list[Call]:
        """Calls of a module-level function, e.g. ``ee.Initialize``."""
        return [call for call in self.calls if call.path == f"{path}()"]
