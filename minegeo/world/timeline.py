"""A place seen at several periods: mines open, grow and close; seasons and clouds change.

Each place is laid out once (background, district, where every feature stands) and then
painted afresh for every period, each feature at its period's size or not at all. A
feature paints with its own generator, seeded once, so its outline is the same shape in
every period, only scaled; the background varies between dry and green seasons, lakes and
farm ponds rise and fall, and atmosphere, noise and clouds are drawn anew per period.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from minegeo.world import features, landscape
from minegeo.world.scene import Scene, SceneRecipe, render, scene_transform
from minegeo.world.spectra import material

__all__ = ["FIRST_YEAR", "Lifecycle", "draw_lifecycles", "make_scene_series", "period_labels"]

#: Year of the first period; period ``k`` is the year ``FIRST_YEAR + k``.
FIRST_YEAR = 2019
#: How often each life a mine or dam lives, in a series of periods.
LIFE_ODDS: dict[str, float] = {"stable": 0.25, "growing": 0.3, "new": 0.3, "gone": 0.15}
#: Radius scale of a growing or new mine when first seen (it reaches 1 in the last period).
FIRST_SCALE = (0.6, 0.8)
#: Look-alikes whose water level changes between periods, and their radius scales.
WATER_KINDS = ("lake", "irrigation_dam")
WATER_SCALE = (0.85, 1.0)
#: Largest share of the pasture that dries to grass (or of the dry grass that greens).
SEASON_SHIFT = 0.5

Life = Literal["stable", "growing", "new", "gone"]


@dataclass(frozen=True)
class Lifecycle:
    """How one feature changes over the periods.

    Attributes:
        life: ``stable``, ``growing``, ``new`` (opens after the first period), ``gone``
            (closes before the last); ``stable`` for look-alikes.
        scales: radius scale per period; 0 where the feature is absent.
    """

    life: Life
    scales: tuple[float, ...]

    @property
    def first(self) -> int:
        """Index of the first period the feature is seen in."""
        return next(i for i, scale in enumerate(self.scales) if scale > 0)

    @property
    def last(self) -> int:
        """Index of the last period the feature is seen in."""
        return max(i for i, scale in enumerate(self.scales) if scale > 0)

    @property
    def largest(self) -> int:
        """Index of the (first) period the feature is largest in."""
        return int(np.argmax(self.scales))


def period_labels(count: int) -> list[str]:
    """Labels of ``count`` yearly periods: ``2019``, ``2020``..."""
    return [str(FIRST_YEAR + index) for index in range(count)]


def draw_lifecycles(
    rng: np.random.Generator, placed: list[features.Feature], periods: int
) -> list[Lifecycle]:
    """A lifecycle for each feature: mines and dams live one of `LIFE_ODDS`.

    Args:
        rng: random generator.
        placed: the place's features.
        periods: number of periods (at least 2).

    Returns:
        one lifecycle per feature, in order.
    """
    lives = []
    for feature in placed:
        if feature.kind in ("mine", "tailings_dam"):
            life = str(rng.choice(list(LIFE_ODDS), p=list(LIFE_ODDS.values())))
            lives.append(_mine_life(rng, life, periods))  # type: ignore[arg-type]
        elif feature.kind in WATER_KINDS:
            lives.append(Lifecycle("stable", tuple(float(s) for s in rng.uniform(*WATER_SCALE, periods))))
        else:
            lives.append(Lifecycle("stable", (1.0,) * periods))
    return lives


def _mine_life(rng: np.random.Generator, life: Life, periods: int) -> Lifecycle:
    opens = int(rng.integers(1, periods)) if life == "new" else 0
    closes = int(rng.integers(0, periods - 1)) if life == "gone" else periods - 1
    start = float(rng.uniform(*FIRST_SCALE)) if life in ("growing", "new") else 1.0
    scales = []
    for index in range(periods):
        if not opens <= index <= closes:
            scales.append(0.0)
            continue
        progress = (index - opens) / (periods - 1 - opens) if periods - 1 > opens else 0.0
        scales.append(round(start + (1.0 - start) * progress, 4))
    return Lifecycle(life, tuple(scales))


def make_scene_series(
    rng: np.random.Generator,
    recipe: SceneRecipe,
    place: str,
    origin: tuple[float, float],
    first_ids: tuple[int, int, int],
    labels: list[str],
) -> tuple[list[Scene], list[Lifecycle]]:
    """Lay out one place and paint it at every period.

    Args:
        rng: random generator of this place.
        recipe: shape and contents.
        place: the place's name; scenes are ``<place>.<period>``.
        origin: UTM (x, y) of the top-left corner.
        first_ids: world-wide numbers of the place's first mine, dam and look-alike.
        labels: the period labels.

    Returns:
        one scene per period (all listing every feature; ``owner`` holds those seen
        then), and each feature's lifecycle.
    """
    base = landscape.paint_background(rng, recipe.shape)
    district = features.make_district(rng, recipe.shape)
    layout = _copy(base)  # placement paints; the periods repaint from the bare background
    counts = (recipe.mines, recipe.dams)
    mines = features.place_mines_and_dams(rng, layout, district, counts, first_ids[:2])
    kinds = list(recipe.lookalikes)
    lookalikes = features.place_lookalikes(rng, layout, district, kinds, first_ids[2], mines)
    placed = [*mines, *lookalikes]
    lives = draw_lifecycles(rng, placed, len(labels))
    seeds = [int(seed) for seed in rng.integers(0, 2**63, len(placed))]
    scenes = []
    for index, (label, period_rng) in enumerate(zip(labels, rng.spawn(len(labels)), strict=True)):
        canvas = _copy(base)
        _vary_season(period_rng, canvas)
        for owner, (feature, life, seed) in enumerate(zip(placed, lives, seeds, strict=True), start=1):
            if life.scales[index] > 0:
                scaled = dataclasses.replace(
                    feature, shape={**feature.shape, "r": feature.shape["r"] * life.scales[index]}
                )
                features.PAINTERS[feature.kind](np.random.default_rng(seed), canvas, scaled, owner)
        bands = render(period_rng, canvas, recipe.clouds, mines)
        scenes.append(Scene(f"{place}.{label}", bands, scene_transform(origin), placed, canvas.owner))
    return scenes, lives


def _copy(canvas: landscape.Canvas) -> landscape.Canvas:
    return dataclasses.replace(
        canvas, fractions=canvas.fractions.copy(), shade=canvas.shade.copy(), owner=canvas.owner.copy()
    )


def _vary_season(rng: np.random.Generator, canvas: landscape.Canvas) -> None:
    """Dry some pasture to grass, or green some dry grass, by a share drawn per period."""
    shift = float(rng.uniform(-SEASON_SHIFT, SEASON_SHIFT))
    source, target = ("pasture", "dry_grass") if shift > 0 else ("dry_grass", "pasture")
    moved = canvas.fractions[material(source)] * abs(shift)
    canvas.fractions[material(source)] -= moved
    canvas.fractions[material(target)] += moved
