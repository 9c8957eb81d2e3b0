"""Patch classification data: the paper's discovery (201 px) and ore-type (21 px) sets.

Splits are spatial (whole places, one patch of buffer), statistics come from the train
split only, and both are saved with the run. Batches are normalised after they reach the
device (:class:`~minegeo.datamodules.base.MinegeoDataModule`), with the same
:class:`~minegeo.bundle.Preprocessing` the checkpoint keeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Subset

from minegeo.datamodules.base import MinegeoDataModule
from minegeo.datamodules.splits import (
    DEFAULT_FRACTIONS,
    assign_splits,
    group_by_place,
    kfold_assign,
    save_split,
)
from minegeo.datasets.patches import PatchFolder
from minegeo.errors import MinegeoInputError


class PatchDataModule(MinegeoDataModule):
    """Class-folder patches split by place, for patch classification tasks.

    Batches hold ``image`` (B, C, H, W), normalised with nodata set to 0, and ``label``
    (B,) class indexes. Loaders yield stored values; the bundle's ``reflectance_scale``
    turns them into reflectance during normalisation, as predict does with raw files.
    """

    def __init__(
        self,
        root: str | Path,
        class_names: Sequence[str] | None = None,
        patch_size: int = 201,
        balance: bool = True,
        split_distance_px: float | None = None,
        fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
        kfold: int | None = None,
        fold: int = 0,
        **shared: Any,
    ) -> None:
        """Keep the settings; the data is read in :meth:`setup`.

        Args:
            root: folder of class folders of ``.tif`` patches.
            class_names: classes in label order (default: the folder names, sorted,
                known after :meth:`setup`).
            patch_size: side of the patches, pixels (201 discovery, 21 ore type).
            balance: keep as many patches per class as the smallest class has.
            split_distance_px: patches closer than this (pixels) share a split; default
                ``patch_size``, a one-patch buffer.
            fractions: target fraction per split (``train``, ``val``, ``test``).
            kfold: number of folds for k-fold cross-validation, or None for one split.
            fold: the held-out fold (used as both val and test) when ``kfold`` is set.
            shared: ``bands``, ``reflectance_scale``, ``batch_size``, ``num_workers``,
                ``augment``, ``seed`` (also of balancing and split assignment), ``run_dir``
                (``split.csv``, ``stats.json``): see :class:`MinegeoDataModule`.
        """
        super().__init__(class_names or (), patch_size, **shared)
        if kfold is not None and not 0 <= fold < kfold:
            raise MinegeoInputError(f"fold {fold} is outside 0..{kfold - 1} for kfold={kfold}")
        self.root = Path(root)
        self.balance = balance
        self.split_distance_px = patch_size if split_distance_px is None else split_distance_px
        self.fractions = dict(fractions)
        self.kfold = kfold
        self.fold = fold
        self.splits: dict[str, Subset[dict[str, Any]]] = {}
        self._folder: PatchFolder | None = None

    def setup(self, stage: str | None = None) -> None:
        """Index the patches, split them by place, and compute train statistics (once)."""
        if self.preprocessing is not None:
            return
        folder = PatchFolder(
            self.root,
            class_names=self.class_names or None,
            bands=self.bands,
            patch_size=self.patch_size,
            balance=self.balance,
            seed=self.seed,
        )
        self._folder, self.class_names = folder, folder.class_names
        table = self._split_table(folder)
        for name in ("train", "val", "test"):
            members = np.flatnonzero(table["split"].isin(_members(name)))
            self.splits[name] = Subset(folder, members.tolist())
        train = self.splits["train"]
        if not len(train):
            raise MinegeoInputError(f"{self.root}: no patch was assigned to the train split; add patches")
        samples = (train[i]["image"] for i in range(len(train)))
        self.preprocessing = self._train_preprocessing(samples, folder.bands, folder.resolution_m)
        if self.run_dir is not None:
            save_split(self.run_dir / "split.csv", table)
        self._save_stats()

    def _check_places(self, table: pd.DataFrame, distance_m: float) -> None:
        """Refuse a split left empty because the patches come from too few separate places."""
        empty = [
            name for name, part in self.fractions.items() if part > 0 and not (table["split"] == name).any()
        ]
        if empty:
            raise MinegeoInputError(
                f"{self.root}: {len(table)} patches form only {table['group'].nunique()} places "
                f"{distance_m:g} m apart, leaving split(s) {empty} empty; add patches from more "
                "places, lower split_distance_px, or use kfold"
            )

    @property
    def folder(self) -> PatchFolder:
        """All patches before splitting (after :meth:`setup`)."""
        if self._folder is None:
            raise RuntimeError("call PatchDataModule.setup() first")
        return self._folder

    def _split_table(self, folder: PatchFolder) -> pd.DataFrame:
        """One row per patch: path, label, place group and split (and fold for k-fold)."""
        footprints = folder.footprints()
        distance_m = self.split_distance_px * folder.resolution_m
        groups = group_by_place(footprints, distance_m)
        table = pd.DataFrame({"path": footprints["path"], "label": footprints["label"], "group": groups})
        if self.kfold is None:
            table["split"] = assign_splits(groups, self.fractions, self.seed)
            self._check_places(table, distance_m)
        else:
            table["fold"] = kfold_assign(groups, self.kfold, self.seed)
            table["split"] = np.where(table["fold"] == self.fold, "heldout", "train")
        return table

    def _loader(self, split: str) -> DataLoader[dict[str, Any]]:
        # Train is shuffled in an order fixed by the seed; under k-fold, val and test
        # are both the held-out fold.
        shuffle = split == "train"
        generator = self._generator(split)
        return DataLoader(self.splits[split], shuffle=shuffle, generator=generator, **self._loader_kwargs())

    def on_after_batch_transfer(self, batch: dict[str, Any], dataloader_idx: int) -> dict[str, Any]:
        """Normalise and augment (see the base class); labels become a long tensor."""
        batch = super().on_after_batch_transfer(batch, dataloader_idx)
        batch["label"] = torch.as_tensor(batch["label"], device=batch["image"].device).long()
        return batch


def _members(split: str) -> tuple[str, ...]:
    """Split-table values that belong to ``split`` (the k-fold held-out fold is val and test)."""
    return (split,) if split == "train" else (split, "heldout")
