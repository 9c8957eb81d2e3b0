"""``python -m minegeo.predict ckpt=... input=FILE|DIR|GLOB out=DIR``: probability maps and report.

Configuration: ``conf/predict.yaml``. Exit codes: 0 done, 1 the run could not start
(one line on stderr), 2 some scenes failed (one line each) and the others are done.
"""

from __future__ import annotations

import logging
import sys

import hydra
from omegaconf import DictConfig

from minegeo.config import CONFIG_DIR
from minegeo.errors import MinegeoInputError


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def main(cfg: DictConfig) -> None:
    """Predict every scene, then write detections and the report."""
    from minegeo.inference.runner import run_predict

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    try:
        code = run_predict(cfg)
    except MinegeoInputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code)


if __name__ == "__main__":
    main()
