"""Out-of-fold maps and scores of a k-fold run on image/mask patches (tailings_seg layout).

    uv run python -m minegeo.train +experiment=unet_tailings_rgb kfold=5 hydra.run.dir=runs/tailings_kfold5
    uv run python experiments/scripts/tailings_kfold.py runs/tailings_kfold5 [--tta d4] [--with RUN ...]

Each fold's checkpoint predicts its own held-out (test) patches with ``minegeo.predict``
into one folder, ``<run>/oof_maps``, so every patch is mapped by a model that never saw
its place; ``minegeo.evaluate`` then scores all of them against the masks (pooled IoU,
F1, object counts, threshold sweep, calibration). Prints the per-fold test IoU / F1 that
training reported (mean ± std), the pooled line of the evaluation, and the per-fold IoU
of the maps themselves (with ``--tta``, what test-time augmentation makes of each fold).
Folds that have not finished (no ``metrics.json``) are skipped and named. ``--uncalibrated`` predicts with a
copy of each checkpoint without its calibration, ``--tta`` with test-time augmentation.
``--with`` names further k-fold runs over the same split (e.g. another ``seed=``): each fold
then predicts with the ensemble of that fold's checkpoints from every run (predict averages
their calibrated probabilities), into ``oof_maps_..._ensemble<N>``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from minegeo.bundle import BUNDLE_KEY

CLASS = "tailings_dam"


def fold_dirs(run: Path) -> list[Path]:
    """Fold folders in order; warns about unfinished ones."""
    folds = sorted(run.glob("fold_*"), key=lambda path: int(path.name.split("_")[1]))
    unfinished = [path.name for path in folds if not (path / "metrics.json").is_file()]
    if unfinished:
        print(f"skipped, not finished: {', '.join(unfinished)}", file=sys.stderr)
    return [path for path in folds if path.name not in unfinished]


def uncalibrated_copy(ckpt: Path) -> Path:
    """A copy of ``ckpt`` without its calibration, to measure what calibration changes."""
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=False)
    checkpoint[BUNDLE_KEY]["calibration"] = None
    copy = ckpt.with_name("uncalibrated.ckpt")
    torch.save(checkpoint, copy)
    return copy


def members_of(fold: Path, others: list[Path]) -> list[Path]:
    """The fold's folder in each run of an ensemble; every run must have split the places alike."""
    members = [fold] + [run / fold.name for run in others]
    split = pd.read_csv(fold / "split.csv")
    for member in members[1:]:
        if not (member / "metrics.json").is_file():
            sys.exit(f"error: {member}: not finished (no metrics.json)")
        if not pd.read_csv(member / "split.csv").equals(split):
            sys.exit(f"error: {member}/split.csv differs from {fold}/split.csv; an ensemble needs one split")
    return members


def predict_fold(members: list[Path], out: Path, tta: str, calibrated: bool) -> None:
    """Predict the fold's test patches (named in its split.csv) into ``out``, in one predict run.

    ``members`` are the fold's folders in each run of an ensemble (one folder: no ensemble).
    """
    fold = members[0]
    split = pd.read_csv(fold / "split.csv")
    inputs = fold / "test_inputs"
    inputs.mkdir(exist_ok=True)
    for path in split.loc[split["split"] == "test", "path"]:
        link = inputs / Path(path).name
        if not link.exists():
            link.symlink_to(Path(path).resolve())
    ckpts = [member / "checkpoints" / "best.ckpt" for member in members]
    ckpts = ckpts if calibrated else [uncalibrated_copy(ckpt) for ckpt in ckpts]
    ckpt = ckpts[0] if len(ckpts) == 1 else "[" + ",".join(str(path) for path in ckpts) + "]"
    command = [sys.executable, "-m", "minegeo.predict", f"ckpt={ckpt}"]
    command += [f"input={inputs}", f"out={out}", "postprocess=false", "progress=false", f"tta={tta}"]
    # exit 2: some patches were refused (named on stderr, e.g. a truncated export's odd pixel size)
    if subprocess.run(command, stdout=subprocess.DEVNULL).returncode not in (0, 2):
        sys.exit(f"error: predict failed for {fold}")


def training_scores(folds: list[Path]) -> str:
    """Mean ± std of the test IoU and F1 each fold's training reported."""
    metrics = [json.loads((fold / "metrics.json").read_text()) for fold in folds]
    iou = np.array([m[f"test/iou_{CLASS}"] for m in metrics])
    f1 = np.array([m[f"test/f1_{CLASS}"] for m in metrics])
    per_fold = ", ".join(f"{value:.3f}" for value in iou)
    return (
        f"{len(folds)} folds, test IoU {iou.mean():.3f} ± {iou.std():.3f} ({per_fold}), "
        f"F1 {f1.mean():.3f} ± {f1.std():.3f}"
    )


def map_scores(folds: list[Path], maps: Path) -> str:
    """Mean ± std over folds of the IoU of each fold's own out-of-fold maps (pooled per fold).

    The same figure as training's test IoU when the maps are read as training's test step
    reads the patches; with ``--tta`` it is the fold mean a user of ``tta=`` gets.
    """
    scenes = {row["scene"]: row for row in json.loads((maps / "evaluation.json").read_text())["per_scene"]}
    ious = []
    for fold in folds:
        split = pd.read_csv(fold / "split.csv")
        names = [Path(path).stem for path in split.loc[split["split"] == "test", "path"]]
        rows = [scenes[name] for name in names if name in scenes]
        tp, fp, fn = (sum(row[f"{CLASS}/{key}"] for row in rows) for key in ("tp", "fp", "fn"))
        ious.append(tp / max(tp + fp + fn, 1))
    iou = np.array(ious)
    per_fold = ", ".join(f"{value:.3f}" for value in iou)
    return f"{len(folds)} folds' own maps, IoU {iou.mean():.3f} ± {iou.std():.3f} ({per_fold})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="the k-fold run directory (holding fold_0, fold_1, ...)")
    parser.add_argument("--root", type=Path, default=Path("../shared/data/tailings_seg"))
    parser.add_argument("--tta", default="none", choices=["none", "flips", "d4"])
    parser.add_argument("--uncalibrated", action="store_true", help="predict without the fitted calibration")
    parser.add_argument(
        "--with",
        dest="others",
        type=Path,
        nargs="+",
        default=[],
        metavar="RUN",
        help="further k-fold runs over the same split: predict with each fold's ensemble",
    )
    args = parser.parse_args()

    folds = fold_dirs(args.run)
    if not folds:
        sys.exit(f"error: {args.run}: no finished fold (fold_N/metrics.json)")
    out = args.run / f"oof_maps_tta_{args.tta}{'_uncalibrated' if args.uncalibrated else ''}"
    out = out.with_name(out.name + f"_ensemble{len(args.others) + 1}") if args.others else out
    for fold in folds:
        predict_fold(members_of(fold, args.others), out, args.tta, calibrated=not args.uncalibrated)
    print(training_scores(folds))
    for other in args.others:
        print(f"{other}: {training_scores([other / fold.name for fold in folds])}")
    evaluate = [sys.executable, "-m", "minegeo.evaluate", f"maps={out}", f"truth={args.root}"]
    subprocess.run(evaluate, check=True)
    print(map_scores(folds, out))


if __name__ == "__main__":
    main()
