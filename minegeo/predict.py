"""``python -m minegeo.predict ckpt=... input=FILE|DIR|GLOB out=DIR``: probability maps and report.

Configuration: ``conf/predict.yaml``. Exit codes: 0 done, 1 the run could not start
(one ``error:`` line on stderr, nothing written), 2 some scenes failed (one line each on
stderr, and in the summary) and the others are done. Settings and files are checked
before torch and Lightning are imported, so a bad one is reported within a second.
"""

from __future__ import annotations

import logging
import sys
import warnings

import hydra
from omegaconf import DictConfig

from minegeo.config import CONFIG_DIR
from minegeo.errors import EXIT_BAD_INPUT, MinegeoInputError
from minegeo.inference.preflight import check_files
from minegeo.inference.settings import load_settings


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def main(cfg: DictConfig) -> None:
    """Check the settings and files, then predict every scene and write the report."""
    try:
        settings = load_settings(cfg)
        check_files(settings)
        # Lightning's own use of torch's pytree warns on every run; the user can do nothing about it
        warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
        from minegeo.inference.runner import run_predict

        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
        code = run_predict(settings)
    except MinegeoInputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(code)


if __name__ == "__main__":
    main()
