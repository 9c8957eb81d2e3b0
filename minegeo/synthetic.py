"""Make the synthetic demo world: ``python -m minegeo.synthetic out=DIR seed=S size=S [periods=N]``."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from minegeo.config import CONFIG_DIR
from minegeo.errors import MinegeoInputError


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="synthetic")
def main(cfg: DictConfig) -> None:
    """Write the world described by ``conf/synthetic.yaml`` and print where it is."""
    from minegeo.world.make import make_world

    try:
        root = make_world(cfg.out, seed=int(cfg.seed), size=cfg.size, periods=cfg.periods)
    except MinegeoInputError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"world: {root}")


if __name__ == "__main__":
    main()
