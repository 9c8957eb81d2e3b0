"""Baselines on the real tailings patches, on the very folds the k-fold U-Net runs use.

    uv run python experiments/scripts/tailings_baselines.py [--root ../shared/data/tailings_seg]

Two models a user would try instead of deep learning on 60 patches, per fold (grouped by
place, the same seed and assignment as ``kfold=5``): predicting background everywhere,
and a gradient-boosted per-pixel classifier (scikit-learn's HistGradientBoosting) on the
bands, normalised band differences, brightness and local texture (mean and standard
deviation of each band over 5, 15 and 45 px windows), trained on the fold's train and
validation patches. Prints test IoU / F1 of ``tailings_dam`` at p >= 0.5 per fold, the
mean ± std, and the pooled figures over all held-out patches.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter
from sklearn.ensemble import HistGradientBoostingClassifier

from minegeo.datamodules import PatchPairSegmentationDataModule
from minegeo.datamodules.base import IGNORE_INDEX

WINDOWS = (5, 15, 45)


def pixel_features(image: np.ndarray) -> np.ndarray:
    """(H*W, F) features of a (C, H, W) reflectance patch (NaN nodata set to 0)."""
    image = np.nan_to_num(image.astype(np.float32))
    bands = list(image)
    layers = [*bands, image.mean(axis=0)]
    for i in range(len(bands)):
        for j in range(i + 1, len(bands)):
            layers.append((bands[i] - bands[j]) / (bands[i] + bands[j] + 1e-6))
    for band in bands:
        for size in WINDOWS:
            mean = uniform_filter(band, size)
            layers += [mean, np.sqrt(np.maximum(uniform_filter(band * band, size) - mean * mean, 0))]
    return np.stack(layers, axis=-1).reshape(-1, len(layers))


def patches(subset: object) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, mask) of each patch of a split, labelled pixels only."""
    rows = []
    for index in range(len(subset)):  # type: ignore[arg-type]
        sample = subset[index]  # type: ignore[index]
        mask = sample["mask"].numpy().reshape(-1)
        keep = mask != IGNORE_INDEX
        rows.append((pixel_features(sample["image"].numpy())[keep], mask[keep]))
    return rows


def counts(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """True positives, false positives, false negatives."""
    return np.array([(predicted & truth).sum(), (predicted & ~truth).sum(), (~predicted & truth).sum()])


def scores(tp_fp_fn: np.ndarray) -> tuple[float, float]:
    """IoU and F1 from counts (0 when nothing is predicted or true)."""
    tp, fp, fn = (float(v) for v in tp_fp_fn)
    return tp / max(tp + fp + fn, 1.0), 2 * tp / max(2 * tp + fp + fn, 1.0)


def fold_counts(root: Path, fold: int, folds: int, pixels: int, seed: int) -> dict[str, np.ndarray]:
    """Test counts of both baselines on one fold."""
    classes = ("background", "tailings_dam")
    module = PatchPairSegmentationDataModule(
        root, class_names=classes, bands=["B4", "B3", "B2"], kfold=folds, fold=fold, seed=seed
    )
    module.setup("fit")
    train = patches(module.subsets["train"]) + patches(module.subsets["val"])
    features = np.concatenate([f for f, _ in train])
    labels = np.concatenate([m for _, m in train])
    pick = np.random.default_rng(seed).choice(len(labels), size=min(pixels, len(labels)), replace=False)
    model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, random_state=seed)
    model.fit(features[pick], labels[pick])
    totals = {"all-background": np.zeros(3, dtype=np.int64), "gradient boosting": np.zeros(3, dtype=np.int64)}
    for test_features, mask in patches(module.subsets["test"]):
        truth = mask == 1
        totals["all-background"] += counts(np.zeros_like(truth), truth)
        totals["gradient boosting"] += counts(model.predict_proba(test_features)[:, 1] >= 0.5, truth)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("../shared/data/tailings_seg"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--pixels", type=int, default=300_000, help="training pixels drawn per fold")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    per_fold = [fold_counts(args.root, k, args.folds, args.pixels, args.seed) for k in range(args.folds)]
    print("| baseline | test IoU per fold | mean ± std IoU | mean ± std F1 | pooled IoU | pooled F1 |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name in per_fold[0]:
        fold_scores = np.array([scores(fold[name]) for fold in per_fold])
        pooled = scores(np.sum([fold[name] for fold in per_fold], axis=0))
        ious = ", ".join(f"{iou:.3f}" for iou in fold_scores[:, 0])
        iou_mean, f1_mean = fold_scores.mean(axis=0)
        iou_std, f1_std = fold_scores.std(axis=0)
        print(
            f"| {name} | {ious} | {iou_mean:.3f} ± {iou_std:.3f} | {f1_mean:.3f} ± {f1_std:.3f} "
            f"| {pooled[0]:.3f} | {pooled[1]:.3f} |"
        )


if __name__ == "__main__":
    main()
