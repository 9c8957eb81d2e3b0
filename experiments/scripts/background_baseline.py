"""Score a model that predicts background everywhere, on a run's own held-out split.

    uv run python experiments/scripts/background_baseline.py runs/unet_tailings_rgb/<run>

Reads the run's resolved config, rebuilds its datamodule (same seed, same split) and
scores the all-background prediction with the tasks' own metric code, so the numbers
compare directly with the run's ``metrics.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from minegeo.config import register_resolvers
from minegeo.datamodules import IGNORE_INDEX
from minegeo.tasks.metrics import ClassMetrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--stage", default="test", choices=["val", "test"])
    args = parser.parse_args()

    register_resolvers()
    cfg = OmegaConf.load(args.run_dir / ".hydra" / "config.yaml")
    cfg.data.run_dir = None
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.setup("fit")
    metrics = ClassMetrics(datamodule.class_names, ignore_index=IGNORE_INDEX, background_class="background")
    loader = getattr(datamodule, f"{args.stage}_dataloader")()
    for batch in loader:
        batch = datamodule.on_after_batch_transfer(batch, 0)
        metrics.update(torch.zeros_like(batch["mask"]), batch["mask"])
    scores = metrics.scores(metrics.compute(), args.stage)
    print(
        json.dumps({key: round(float(value), 4) for key, value in scores.items()}, indent=2, sort_keys=True)
    )


if __name__ == "__main__":
    main()
