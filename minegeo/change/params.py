"""The change stage's settings (``change_rules`` in predict.yaml); standard library only.

Predict's settings import this module to check the node before any heavy import.
"""

from __future__ import annotations

from dataclasses import dataclass

from minegeo.errors import MinegeoInputError

__all__ = ["ChangeParams"]


@dataclass
class ChangeParams:
    """How sites are matched across periods and when they count (not frozen: OmegaConf merges onto it)."""

    #: detections of any periods this close (edge to edge, metres) are one site
    match_distance_m: float = 100.0
    #: the temporal consistency rule: a site counts in a period only if an adjacent period also sees it
    confirm: bool = True
    #: keep sites seen in the last period without a confirming neighbour (nothing later can confirm them yet)
    keep_last: bool = True
    #: relative area change between the first and last period that makes a site growing or shrinking
    growth: float = 0.25
    #: fastest-growing sites listed in summary.md
    top_n: int = 10

    def __post_init__(self) -> None:
        if not self.match_distance_m >= 0:
            raise MinegeoInputError(
                f"change_rules.match_distance_m={self.match_distance_m}: expected a distance >= 0"
            )
        if not self.growth > 0:
            raise MinegeoInputError(f"change_rules.growth={self.growth}: expected a share > 0, such as 0.25")
        if self.top_n < 0:
            raise MinegeoInputError(f"change_rules.top_n={self.top_n}: expected a whole number >= 0")
