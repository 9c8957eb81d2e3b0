"""``python -m minegeo.export``: export Sentinel-2 patches and scan tiles from Earth Engine.

    python -m minegeo.export points=registered_dams.csv dry_run=true
    python -m minegeo.export aoi.bbox=[-45,-21,-42,-18] destination.kind=gcs destination.bucket=B

Configuration: ``conf/export.yaml``; documentation: ``experiments/earthengine.md``.
Exit codes, as for predict: 0 done; 1 the run could not start (one ``error:`` line on
stderr); 2 some Earth Engine tasks failed, the others are done.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from minegeo.config import CONFIG_DIR
from minegeo.errors import EXIT_BAD_INPUT, EXIT_SOME_FAILED, MinegeoInputError


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="export")
def main(cfg: DictConfig) -> None:
    """Plan the exports, write ``manifest.csv`` and, unless ``dry_run``, run them."""
    from minegeo.earthengine.runner import run_export

    try:
        summary = run_export(cfg)
    except MinegeoInputError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    print("\n".join(summary.lines()))
    if cfg.dry_run:
        print(f"dry run: nothing submitted; to submit, rerun without dry_run=true and with out={summary.out}")
    elif summary.states.get("FAILED"):
        sys.exit(EXIT_SOME_FAILED)


if __name__ == "__main__":
    main()
