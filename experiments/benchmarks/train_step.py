"""Training step time of the real-tailings networks: operating scale, decoder, precision, freed-memory reuse.

    uv run python experiments/benchmarks/train_step.py [--steps 8] [--batch 8]

Each case runs in its own process (the allocator setting lasts for a process): forward,
CE + dice + Lovász, backward and an AdamW step of the case's network (``unet_tailings_rgb``'s
4-stage U-Net unless named) on a batch of random 3-band samples, the first two steps
discarded as warm-up. A bf16 case runs forward and loss under CPU autocast, as
``trainer.precision=bf16-mixed`` does (weights and optimizer stay float32). Prints one row
per case: the median seconds per step, input pixels per second and its ratio to the first
case, and the process's system-time share (page faults of freshly mapped activations show
up there).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

UNET4 = {"arch": "Unet", "encoder_depth": 4, "arch_args": {"Unet": {"decoder_channels": [128, 64, 32, 16]}}}
UNET5 = {
    "arch": "Unet",
    "encoder_depth": 5,
    "arch_args": {"Unet": {"decoder_channels": [256, 128, 64, 32, 16]}},
}
FPN5 = {
    "arch": "FPN",
    "encoder_depth": 5,
    "arch_args": {"FPN": {"decoder_pyramid_channels": 128, "decoder_segmentation_channels": 64}},
}
FPN_WIDE = {
    "arch": "FPN",
    "encoder_depth": 5,
    "arch_args": {"FPN": {"decoder_pyramid_channels": 256, "decoder_segmentation_channels": 128}},
}


def case(
    name: str,
    downsample: int,
    size: int,
    net: dict[str, Any] = UNET4,
    reuse: bool = False,
    bf16: bool = False,
) -> dict[str, Any]:
    """One row: ``net`` (``smp_model`` arguments) on ``size`` px samples, run at 1/``downsample``."""
    return {"name": name, "downsample": downsample, "size": size, "net": net, "reuse": reuse, "bf16": bf16}


CASES = [
    case("256 px crops, full resolution", 1, 256),
    case("256 px crops, full resolution, freed memory kept", 1, 256, reuse=True),
    case("256 px crops, downsample 2", 2, 256),
    case("448 px patches, downsample 4 (unet_tailings_rgb)", 4, 448),
    case("448 px patches, downsample 2, U-Net with 5 stages (decoder 256-128-64-32-16)", 2, 448, UNET5),
    case("448 px patches, downsample 2, FPN with 5 stages (pyramid 128, segmentation 64)", 2, 448, FPN5),
    case("448 px patches, downsample 2, FPN with 5 stages (pyramid 256, segmentation 128)", 2, 448, FPN_WIDE),
    case("the recipe's FPN (pyramid 128, segmentation 64), bf16 autocast", 2, 448, FPN5, bf16=True),
    case("the wide FPN (pyramid 256, segmentation 128), bf16 autocast", 2, 448, FPN_WIDE, bf16=True),
]


def run_case(
    net: dict[str, Any], downsample: int, size: int, reuse: bool, bf16: bool, steps: int, batch: int
) -> dict[str, float]:
    """Time ``steps`` training steps in this process."""
    import torch

    from minegeo.inference.allocator import reuse_freed_memory
    from minegeo.models import smp_model
    from minegeo.tasks.losses import SegmentationLoss

    if reuse:
        reuse_freed_memory()
    torch.manual_seed(0)
    model = smp_model(in_channels=3, num_classes=2, downsample=downsample, **net)
    loss = SegmentationLoss({"ce": 1.0, "dice": 1.0, "lovasz": 1.0}, num_classes=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    image = torch.randn(batch, 3, size, size)
    mask = (torch.rand(batch, size, size) > 0.9).long()
    times = []
    cpu_start = os.times()
    for _ in range(steps + 2):
        started = time.perf_counter()
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            value = loss(model(image), mask)
        value.backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    cpu = os.times()
    user, system = cpu.user - cpu_start.user, cpu.system - cpu_start.system
    per_step = sorted(times[2:])[len(times[2:]) // 2]
    pixels = batch * size * size
    return {
        "s_per_step": per_step,
        "mpix_s": pixels / per_step / 1e6,
        "system_share": system / (user + system),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case is not None:
        chosen = CASES[args.case]
        print(
            json.dumps(
                run_case(
                    chosen["net"],
                    chosen["downsample"],
                    chosen["size"],
                    chosen["reuse"],
                    chosen["bf16"],
                    args.steps,
                    args.batch,
                )
            )
        )
        return
    rows = []
    for index, entry in enumerate(CASES):
        command = [sys.executable, __file__, "--case", str(index), "--steps", str(args.steps)]
        command += ["--batch", str(args.batch)]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rows.append((entry["name"], json.loads(out.strip().splitlines()[-1])))
    base = rows[0][1]["mpix_s"]
    print(f"batches of {args.batch}, median of {args.steps} steps\n")
    print("| case | s / step | input MPix/s | speed-up | system time share |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, row in rows:
        speedup = row["mpix_s"] / base
        print(
            f"| {name} | {row['s_per_step']:.2f} | {row['mpix_s']:.2f} | {speedup:.2f}x | "
            f"{row['system_share']:.0%} |"
        )


if __name__ == "__main__":
    main()
