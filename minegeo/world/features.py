"""Mines, tailings dams and the look-alikes the paper reports as false positives.

Each feature is placed by rejection sampling (kept apart from the others and from the
river) and painted into its own window of the canvas: material fractions, shading, and
the owner map that later becomes its polygon. Mines and dams sit in a mining district
(one side of a line through the scene, as ore bodies cluster); look-alikes sit on the
other side, so clean ``not_mine`` patches exist next to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from minegeo.world.landscape import SUN_AZIMUTH, Canvas
from minegeo.world.spectra import material

#: Kinds of look-alike features (lookalikes.gpkg ``class``).
LOOKALIKE_KINDS = ("lake", "irrigation_dam", "river_bank", "city", "construction")
#: Largest radius of each kind of look-alike, in pixels.
LOOKALIKE_RADIUS = {
    "lake": 26.0,
    "irrigation_dam": 14.0,
    "river_bank": 30.0,
    "city": 80.0,
    "construction": 28.0,
}
#: Pixels kept between a discovery patch centre and the scene edge (half of 201 + jitter).
PATCH_MARGIN = 112
#: Largest centre jitter of a discovery patch, in pixels.
JITTER = 10


@dataclass
class Feature:
    """One mapped thing in a scene.

    Attributes:
        id: world-unique id (``m0001`` mine, ``d0001`` dam, ``l0001`` look-alike).
        kind: ``mine``, ``tailings_dam`` or one of `LOOKALIKE_KINDS`.
        row: centre row in scene pixels.
        col: centre column in scene pixels.
        radius: radius of a disc holding the feature, in pixels.
        shape: kind-specific size parameters (semi-axes, angles, counts).
        ore_type: ``high_impact`` or ``low_impact`` for mines and dams, else None.
    """

    id: str
    kind: str
    row: float
    col: float
    radius: float
    shape: dict[str, float]
    ore_type: str | None = None


@dataclass(frozen=True)
class District:
    """The half-plane holding the mines: ``(p - origin) . normal < 0`` (p = row, col)."""

    origin: tuple[float, float]
    normal: tuple[float, float]

    def side(self, row: float, col: float) -> float:
        """Signed distance in pixels from the district line (negative inside)."""
        return (row - self.origin[0]) * self.normal[0] + (col - self.origin[1]) * self.normal[1]


def make_district(rng: np.random.Generator, shape: tuple[int, int]) -> District:
    """A line across the scene's long axis, the district on one side of it."""
    height, width = shape
    angle = rng.choice([0.0, np.pi]) + rng.uniform(-0.35, 0.35)
    normal = (float(np.sin(angle)), float(np.cos(angle)))
    # Shifted along the normal so the district takes a little more than half the scene.
    origin = (height / 2 + 0.06 * height * normal[0], width / 2 + 0.06 * width * normal[1])
    return District(origin, normal)


def _place(
    rng: np.random.Generator,
    canvas: Canvas,
    placed: list[Feature],
    radius: float,
    side: tuple[District, float],
    margin: float,
) -> tuple[float, float] | None:
    """A centre ``margin`` px from the edges, clear of other features and the river.

    ``side`` is (district, gap): a negative gap keeps the centre that far inside the
    district, a positive one that far outside.
    """
    height, width = canvas.owner.shape
    district, gap = side
    for _ in range(400):
        row, col = rng.uniform(margin, height - margin), rng.uniform(margin, width - margin)
        offside = district.side(row, col) < gap if gap > 0 else district.side(row, col) > gap
        if offside or canvas.river[int(row), int(col)] < radius + 6:
            continue
        if all(np.hypot(row - f.row, col - f.col) > radius + f.radius + 40 for f in placed):
            return row, col
    return None


def place_mines_and_dams(
    rng: np.random.Generator,
    canvas: Canvas,
    district: District,
    counts: tuple[int, int],
    first_ids: tuple[int, int],
) -> list[Feature]:
    """Place and paint mines and tailings dams inside the district.

    Args:
        rng: random generator.
        canvas: the scene's canvas (painted in place).
        district: where mines may go.
        counts: (mines, dams) wanted.
        first_ids: world-wide numbers of the first mine and the first dam.

    Returns:
        the features placed (fewer than asked only if the district is full).
    """
    placed: list[Feature] = []
    kinds = ["mine"] * counts[0] + ["tailings_dam"] * counts[1]
    # Mines split evenly between ore types; most dams hold iron tailings.
    mine_ores = rng.permutation((["high_impact", "low_impact"] * counts[0])[: counts[0]])
    dam_ores = rng.choice(["high_impact", "low_impact"], counts[1], p=[0.75, 0.25])
    numbers = {"mine": first_ids[0], "tailings_dam": first_ids[1]}
    for kind, ore in zip(kinds, [*mine_ores, *dam_ores], strict=True):
        radius = rng.uniform(14, 34) if kind == "mine" else rng.uniform(13, 28)
        centre = _place(rng, canvas, placed, radius * 1.3, (district, -30.0), PATCH_MARGIN)
        if centre is None:
            continue
        prefix = "m" if kind == "mine" else "d"
        feature = Feature(
            f"{prefix}{numbers[kind]:04d}", kind, *centre, radius * 1.3, {"r": radius}, str(ore)
        )
        numbers[kind] += 1
        PAINTERS[kind](rng, canvas, feature, len(placed) + 1)
        placed.append(feature)
    return placed


def place_lookalikes(
    rng: np.random.Generator,
    canvas: Canvas,
    district: District,
    kinds: list[str],
    first_id: int,
    taken: list[Feature],
) -> list[Feature]:
    """Place and paint look-alikes outside the district.

    Args:
        rng: random generator.
        canvas: the scene's canvas (painted in place).
        district: where mines are (look-alikes keep out).
        kinds: look-alike kinds wanted, one feature each.
        first_id: world-wide number of the first look-alike.
        taken: features already in the scene.

    Returns:
        the look-alikes placed.
    """
    placed: list[Feature] = []
    for kind in kinds:
        radius = LOOKALIKE_RADIUS[kind] * rng.uniform(0.7, 1.0)
        if kind == "river_bank":
            centre = _on_river_bank(rng, canvas, [*taken, *placed], district, radius)
        else:
            centre = _place(rng, canvas, [*taken, *placed], radius, (district, 40 + radius), radius + 8)
        if centre is None:
            continue
        feature = Feature(f"l{first_id + len(placed):04d}", kind, *centre, radius, {"r": radius})
        PAINTERS[kind](rng, canvas, feature, len(taken) + len(placed) + 1)
        placed.append(feature)
    return placed


def _on_river_bank(
    rng: np.random.Generator, canvas: Canvas, taken: list[Feature], district: District, radius: float
) -> tuple[float, float] | None:
    """A point beside the river (sand bars form on the banks), outside the district."""
    line = canvas.river_line
    height, width = canvas.owner.shape
    for index in rng.permutation(len(line))[:400]:
        row, col = line[index]
        if district.side(row, col) < 40 + radius or not (radius < row < height - radius):
            continue
        if not radius < col < width - radius:
            continue
        if all(np.hypot(row - f.row, col - f.col) > radius + f.radius + 20 for f in taken):
            return float(row), float(col)
    return None


def _window(
    canvas: Canvas, feature: Feature, reach: float
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray]:
    """Slices of the feature's window and its pixel offsets (dy, dx) from the centre."""
    height, width = canvas.owner.shape
    r0, r1 = max(int(feature.row - reach), 0), min(int(feature.row + reach) + 1, height)
    c0, c1 = max(int(feature.col - reach), 0), min(int(feature.col + reach) + 1, width)
    dy, dx = np.mgrid[r0:r1, c0:c1].astype(np.float32)
    return (slice(r0, r1), slice(c0, c1)), dy - feature.row, dx - feature.col


def _blob(
    rng: np.random.Generator, dy: np.ndarray, dx: np.ndarray, r: float, wobble: float
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised radius of an irregular ellipse (1 on its outline) and the polar angle."""
    angle, ratio = rng.uniform(0, np.pi), rng.uniform(0.6, 1.0)
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    phi = np.arctan2(dy, dx)
    lobes = (wobble * np.sin(k * phi + rng.uniform(0, 6)) / k for k in (2, 3, 5))
    return np.hypot(u / r, v / (r * ratio)) / (1 + sum(lobes)), phi


def _blend(canvas: Canvas, win: tuple[slice, slice], alpha: np.ndarray, parts: dict[str, float]) -> None:
    """Cover ``alpha`` of the window with a mixture of materials (weights sum to 1)."""
    fractions = canvas.fractions[:, win[0], win[1]]
    fractions *= 1 - alpha
    for name, weight in parts.items():
        fractions[material(name)] += alpha * weight


def _own(canvas: Canvas, win: tuple[slice, slice], mask: np.ndarray, owner: int) -> None:
    canvas.owner[win][mask] = owner


def paint_mine(rng: np.random.Generator, canvas: Canvas, feature: Feature, owner: int) -> None:
    """An open pit: concentric benches, their faces shadowed away from the sun."""
    r = feature.shape["r"]
    win, dy, dx = _window(canvas, feature, r * 1.6)
    radius, phi = _blob(rng, dy, dx, r, 0.12)
    pit = radius < 1
    ore = "iron_ore" if feature.ore_type == "high_impact" else "bright_rock"
    _blend(canvas, win, np.clip((1.25 - radius) / 0.25, 0, 1) * 0.55, {"bare_soil": 0.7, ore: 0.3})
    _blend(canvas, win, pit.astype(np.float32), {ore: 0.85, "bare_soil": 0.15})
    benches = radius * rng.integers(4, 8)
    face = pit & (benches - np.floor(benches) > 0.62)
    facing_sun = np.cos(phi + np.pi / 2 - SUN_AZIMUTH)
    canvas.shade[win] *= np.where(face, 0.78 + 0.14 * facing_sun, np.where(pit, 1.05, 1.0))
    if rng.random() < 0.3:
        _blend(canvas, win, (radius < 0.15).astype(np.float32), {"turbid_water": 1.0})
    _own(canvas, win, pit, owner)


def paint_tailings_dam(rng: np.random.Generator, canvas: Canvas, feature: Feature, owner: int) -> None:
    """A sludge pond with a dry tailings beach, held by a stepped embankment downstream."""
    r = feature.shape["r"]
    win, dy, dx = _window(canvas, feature, r * 1.6)
    radius, phi = _blob(rng, dy, dx, r, 0.08)
    downstream = np.cos(phi - rng.uniform(0, 2 * np.pi))
    pond = radius < 1
    depth = (radius - 1) * r
    wall = (depth >= 0) & (depth < rng.uniform(4, 7)) & (downstream > -0.2)
    beach = pond & (radius > 0.7) & (downstream > 0.3)
    _blend(canvas, win, pond.astype(np.float32), {"sludge": 1.0})
    _blend(canvas, win, beach.astype(np.float32), {"tailings": 1.0})
    _blend(canvas, win, wall.astype(np.float32), {"embankment": 1.0})
    canvas.shade[win] *= np.where(wall & (np.floor(depth / 2) % 2 == 1), 0.9, 1.0)
    _own(canvas, win, pond | wall, owner)


def paint_lake(rng: np.random.Generator, canvas: Canvas, feature: Feature, owner: int) -> None:
    """A natural lake: clear dark water with a wooded shore."""
    r = feature.shape["r"]
    win, dy, dx = _window(canvas, feature, r * 1.8)
    radius, _ = _blob(rng, dy, dx, r, 0.25)
    _blend(canvas, win, np.clip((1.25 - radius) / 0.25, 0, 1) * 0.6, {"forest": 1.0})
    _blend(canvas, win, (radius < 1).astype(np.float32), {"water": 0.85, "turbid_water": 0.15})
    _own(canvas, win, radius < 1.1, owner)


def paint_irrigation_dam(rng: np.random.Generator, canvas: Canvas, feature: Feature, owner: int) -> None:
    """A farm reservoir: small greenish pond behind a straight grassed embankment."""
    r = feature.shape["r"]
    win, dy, dx = _window(canvas, feature, r * 1.6)
    radius, _ = _blob(rng, dy, dx, r * 0.8, 0.1)
    heading = rng.uniform(0, 2 * np.pi)
    along = dx * np.cos(heading) + dy * np.sin(heading)
    across = -dx * np.sin(heading) + dy * np.cos(heading)
    wall = (np.abs(along - r * 0.8) < 1.5) & (np.abs(across) < r)
    pond = (radius < 1) & (along < r * 0.8)
    _blend(canvas, win, pond.astype(np.float32), {"water": 0.6, "turbid_water": 0.3, "pasture": 0.1})
    _blend(canvas, win, wall.astype(np.float32), {"embankment": 0.5, "pasture": 0.5})
    _own(canvas, win, pond | wall, owner)


def paint_river_bank(rng: np.random.Generator, canvas: Canvas, feature: Feature, owner: int) -> None:
    """A sand bar: an elongated bright deposit along the river."""
    r = feature.shape["r"]
    win, dy, dx = _window(canvas, feature, r)
    near = canvas.river[win] < 5 + r * rng.uniform(0.15, 0.25)
    bar = near & (np.hypot(dy, dx) < r) & (canvas.fractions[material("turbid_water")][win] < 0.5)
    _blend(canvas, win, bar.astype(np.float32), {"sand": 0.9, "bare_soil": 0.1})
    _own(canvas, win, bar, owner)


def paint_city(rng: np.random.Generator, canvas: Canvas, feature: Feature, owner: int) -> None:
    """A town: blocks of roofs and yards between asphalt streets, fading at its edge."""
    r = feature.shape["r"]
    win, dy, dx = _window(canvas, feature, r)
    radius, _ = _blob(rng, dy, dx, r, 0.15)
    block = rng.uniform(10, 15)
    street = (np.mod(dy, block) < 2) | (np.mod(dx, block) < 2)
    greenery = rng.uniform(0.1, 0.4, 4096)[
        (np.floor(dy / block) * 64 + np.floor(dx / block)).astype(int) % 4096
    ]
    town = np.clip((1 - radius) / 0.2, 0, 1)
    _blend(canvas, win, town * ~street, {"urban": 1.0})
    _blend(canvas, win, town * ~street * greenery, {"forest": 0.5, "pasture": 0.5})
    _blend(canvas, win, town * street, {"asphalt": 1.0})
    _own(canvas, win, town > 0.5, owner)


def paint_construction(rng: np.random.Generator, canvas: Canvas, feature: Feature, owner: int) -> None:
    """A construction site: a rotated rectangle of bare, compacted soil with a few sheds."""
    r = feature.shape["r"]
    win, dy, dx = _window(canvas, feature, r)
    heading = rng.uniform(0, np.pi)
    along = dx * np.cos(heading) + dy * np.sin(heading)
    across = -dx * np.sin(heading) + dy * np.cos(heading)
    site = (np.abs(along) < r * 0.7) & (np.abs(across) < r * rng.uniform(0.3, 0.6))
    sheds = site & (np.abs(along - r * 0.4) < 3) & (np.mod(across, 9) < 4)
    _blend(canvas, win, site.astype(np.float32), {"bare_soil": 0.6, "embankment": 0.4})
    _blend(canvas, win, sheds.astype(np.float32), {"urban": 1.0})
    _own(canvas, win, site, owner)


#: Painter of each kind of feature.
PAINTERS: dict[str, Callable[[np.random.Generator, Canvas, Feature, int], None]] = {
    "mine": paint_mine,
    "tailings_dam": paint_tailings_dam,
    "lake": paint_lake,
    "irrigation_dam": paint_irrigation_dam,
    "river_bank": paint_river_bank,
    "city": paint_city,
    "construction": paint_construction,
}
