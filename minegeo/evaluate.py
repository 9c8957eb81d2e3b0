"""``python -m minegeo.evaluate maps=DIR truth=DIR|FILE [out=DIR]``: score probability maps.

Configuration: ``conf/evaluate.yaml``. The maps (``<stem>.prob.tif`` from
``minegeo.predict``) are scored against reference masks (``truth/mask/mask_N.tif`` for
``img_N.prob.tif``) or label polygons, on the reference grid. Writes
``evaluation.json``, ``evaluation.md``, ``pr_curve.png`` and ``reliability.png`` into
``out`` (default: the maps folder) and prints the pooled IoU and F1 of each class.
Exit codes: 0 done; 1 bad input (one ``error:`` line on stderr, nothing written).
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from minegeo.config import CONFIG_DIR
from minegeo.errors import MinegeoInputError
from minegeo.evaluation import headline_lines, load_settings, plan_evaluation, run_evaluation, write_outputs

#: the run could not start
EXIT_BAD_INPUT = 1


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Check the settings and inputs, score every scene, write the results."""
    try:
        settings = load_settings(cfg)
        plan = plan_evaluation(settings)
        if plan.unmatched:
            names = ", ".join(path.name for path in plan.unmatched)
            print(f"warning: {len(plan.unmatched)} maps have no reference, skipped: {names}", file=sys.stderr)
        data = write_outputs(run_evaluation(plan), settings.out_dir)
    except MinegeoInputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    for line in headline_lines(data):
        print(line)


if __name__ == "__main__":
    main()
