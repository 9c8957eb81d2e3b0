"""Predict throughput and memory: end to end vs bare forward vs a TorchGeo-pieces baseline.

    uv run python experiments/benchmarks/predict_throughput.py --size 2048
    uv run python experiments/benchmarks/predict_throughput.py --size 2048 --memory 5000 20000

For the discovery FCN (paper replica, "same") and U-Net-ResNet18 on synthetic 12-band
float32 scenes (tiled 512 px, pixel-interleaved like Earth Engine exports, ZSTD by
default; ``--compress lzw`` is Earth Engine's own codec), one table of:

- end to end: ``run_predict`` (read -> normalise -> model -> blend -> staging -> COG),
  scene MPix/s and km²/s (10 m pixels), with the default config; also on the same scene
  stored as uint16 digital numbers (scale tag 1e-4);
- reading: the engine's reader alone (strips decoded, windows cut into batches), on the
  float32 and the uint16 scene;
- forward: the bare model on exactly the windows the engine runs (same tiles, overlap
  and halo, inputs already in memory), channels-last and with freed memory kept or not as
  the engine runs it (``--reuse-freed-memory``, default: predict.yaml's), scene MPix/s;
  the window size is the best of a short sweep (``--sweep no``: ``--tile`` and ``--cells``
  as given, so that two engines' runs use the same windows);
- forward NCHW: the same, as a plain ``model(x)`` on contiguous tensors (what a task's
  ``predict_step`` does, and what the TorchGeo baseline runs);
- TorchGeo: RasterDataset + GridGeoSampler + DataLoader + the plain forward, stitched
  in a whole-scene array in memory and written as a COG (the obvious way to build it
  from TorchGeo's pieces), timed like end to end, from loading the checkpoint to the file;
- peak RSS of each case, each run in its own process (VmHWM).

The CPU-seconds bound of end to end is forward + reading (both use every core, in turn).

Each case runs ``--repeat`` times (the cases take turns) and the fastest run counts: on
a shared two-core machine one case's speed drifts by up to 20 % between minutes.

``--scan N`` also runs end to end over a folder of N scenes (links to the same file) in
one process, as a scan of a state does: start-up, and the first batches' page faults
(which on a virtual machine can cost seconds), are paid once per run, not per scene.

``--memory`` runs end to end on larger square scenes for the peak-RSS comparison.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

MODELS = {
    "fcn": {"_target_": "minegeo.models.DiscoveryFCN", "padding": "same"},
    "unet": {"_target_": "minegeo.models.smp_model", "arch": "Unet", "encoder": "resnet18"},
}
#: (case, reader worker processes) of the table
CASES = (
    ("forward", 0),
    ("forward_nchw", 0),
    ("read", 0),
    ("read_uint16", 0),
    ("e2e", 0),
    ("e2e", 1),
    ("e2e_uint16", 0),
    ("torchgeo", 0),
)
CLASSES = {"fcn": ("mine", "not_mine"), "unet": ("background", "mine", "tailings_dam")}


def write_scene(
    path: Path, height: int, width: int, compress: str = "zstd", seed: int = 0, dtype: str = "float32"
) -> Path:
    """A 12-band scene written strip by strip (never whole in memory), tiled, compressed.

    ``dtype="uint16"``: the same reflectance as digital numbers (x 10000), nodata 0, scale tag 1e-4.
    """
    import rasterio
    from affine import Affine

    from minegeo import SENTINEL2_BANDS

    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    base = (rng.random((12, 512, min(width, 4096)), dtype=np.float32) * 0.4).round(4)
    profile = {"driver": "GTiff", "height": height, "width": width, "count": 12,
               "crs": "EPSG:32723", "transform": Affine(10, 0, 500_000, 0, -10, 7_000_000),
               "nodata": float("nan") if dtype == "float32" else 0, "dtype": dtype,
               "tiled": True, "blockxsize": 512, "blockysize": 512, "interleave": "pixel",
               "compress": compress, "zstd_level": 1, "BIGTIFF": "YES"}  # fmt: skip
    tmp = path.with_suffix(".partial.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for top in range(0, height, 512):
            rows = min(512, height - top)
            strip = np.tile(np.roll(base, top // 512 * 37, axis=2), (1, 1, -(-width // base.shape[2])))
            strip = strip if dtype == "float32" else (strip * 10000).round().clip(1, 65535).astype(dtype)
            dst.write(strip[:, :rows, :width], window=rasterio.windows.Window(0, top, width, rows))
        dst.descriptions = SENTINEL2_BANDS
        if dtype != "float32":
            dst.scales = (1e-4,) * 12
    tmp.replace(path)
    return path


def scan_folder(work: Path, scene: Path, count: int) -> Path:
    """A folder of ``count`` scenes: links to ``scene`` under their own names."""
    folder = work / f"scan-{count}-{scene.stem}"
    folder.mkdir(exist_ok=True)
    for number in range(count):
        link = folder / f"{scene.stem}-{number}.tif"
        if not link.exists():
            link.symlink_to(scene.resolve())
    return folder


def write_checkpoint(path: Path, model_name: str) -> Path:
    """An untrained checkpoint (weights do not change the speed)."""
    import torch
    from hydra.utils import instantiate

    from minegeo import SENTINEL2_BANDS
    from minegeo.bundle import Bundle, Preprocessing, save_bundle

    torch.manual_seed(0)
    model = instantiate(MODELS[model_name])
    kind = "classification" if model_name == "fcn" else "segmentation"
    pre = Preprocessing(bands=SENTINEL2_BANDS, mean=(0.1,) * 12, std=(0.1,) * 12)
    bundle = Bundle(kind, CLASSES[model_name], 201, pre, model.geometry, MODELS[model_name])  # type: ignore[arg-type]
    save_bundle(path, bundle, model)
    return path


def case_e2e(args: argparse.Namespace) -> dict[str, Any]:
    """Time ``run_predict`` on one scene, its modules imported before the clock starts."""
    # imported on first use by run_predict and the model's builder: start-up, not predict
    import lightning  # noqa: F401
    import segmentation_models_pytorch  # noqa: F401
    from omegaconf import DictConfig, OmegaConf

    from minegeo.config import CONFIG_DIR
    from minegeo.inference import run_predict

    cfg = OmegaConf.load(CONFIG_DIR / "predict.yaml")
    assert isinstance(cfg, DictConfig)
    cfg.pop("defaults")
    cfg.pop("hydra")
    settings = {"ckpt": args.ckpt, "input": args.scene, "out": args.out,
                "postprocess": False, "progress": False,
                "tile_size": args.tile, "overlap": args.overlap, "fcn_cells": args.cells,
                "batch_size": args.batch, "num_workers": args.workers,
                "reuse_freed_memory": reuses_freed_memory(args)}  # fmt: skip
    cfg = OmegaConf.merge(cfg, settings)
    start = time.perf_counter()
    code = run_predict(cfg)
    assert code == 0
    return {"seconds": time.perf_counter() - start}


def engine_batches(args: argparse.Namespace, keep: bool = True) -> tuple[list[Any], float]:
    """The engine's batches of the scene, read by its own reader (what ``run_predict`` feeds the model).

    Args:
        args: the case's arguments.
        keep: keep every batch (``False``: drop each once read, as the engine does).

    Returns:
        the batches (none unless kept), and the seconds it took to check the scene and read them.
    """
    import rasterio
    from omegaconf import DictConfig, OmegaConf

    from minegeo.bundle import load_bundle
    from minegeo.config import CONFIG_DIR
    from minegeo.inference.reading import WindowDataset
    from minegeo.inference.runner import gdal_options, make_jobs
    from minegeo.inference.scenes import find_scenes
    from minegeo.inference.settings import load_settings

    cfg = OmegaConf.load(CONFIG_DIR / "predict.yaml")
    assert isinstance(cfg, DictConfig)
    cfg.pop("defaults")
    cfg.pop("hydra")
    run = {"ckpt": args.ckpt, "input": args.scene, "out": args.out,
           "tile_size": args.tile, "overlap": args.overlap, "fcn_cells": args.cells}  # fmt: skip
    merged = OmegaConf.merge(cfg, run)
    assert isinstance(merged, DictConfig)
    settings = load_settings(merged)
    bundle, _ = load_bundle(args.ckpt)
    start = time.perf_counter()
    jobs, _ = make_jobs(find_scenes(args.scene, Path(args.out)), bundle, Path(args.out), settings, {})
    dataset = WindowDataset(jobs, bundle.geometry)
    batches = []
    with rasterio.Env(**gdal_options(settings)):
        for indexes in dataset.batches(args.batch):
            batch = dataset.__getitems__(indexes)
            batches += [batch] if keep else []
    return batches, time.perf_counter() - start


def case_read(args: argparse.Namespace) -> dict[str, Any]:
    """Time the engine's reader alone: every strip decoded, every window cut into its batch."""
    from minegeo.inference.allocator import reuse_freed_memory

    if reuses_freed_memory(args):  # as the engine does
        reuse_freed_memory()
    return {"seconds": engine_batches(args, keep=False)[1]}


def case_forward(args: argparse.Namespace, channels_last: bool = True) -> dict[str, Any]:
    """Time the bare forward over exactly the engine's windows, inputs already in memory."""
    import torch

    from minegeo.bundle import load_bundle
    from minegeo.inference.allocator import reuse_freed_memory

    if reuses_freed_memory(args):  # as the engine does
        reuse_freed_memory()
    _, model = load_bundle(args.ckpt)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    batches = [
        batch["image"].nan_to_num().contiguous(memory_format=layout) for batch in engine_batches(args)[0]
    ]
    with torch.inference_mode():
        start = time.perf_counter()
        for batch in batches:
            model(batch).softmax(1)
    return {"seconds": time.perf_counter() - start}


def case_torchgeo(args: argparse.Namespace) -> dict[str, Any]:
    """RasterDataset + GridGeoSampler + DataLoader + forward, stitched in memory, written as a COG.

    Timed like end to end: from loading the checkpoint to the written file.
    """
    import rasterio
    import torch
    from torch.utils.data import DataLoader
    from torchgeo.datasets import RasterDataset, stack_samples
    from torchgeo.samplers import GridGeoSampler

    from minegeo.bundle import load_bundle
    from minegeo.inference.tiling import make_plan

    start = time.perf_counter()
    bundle, model = load_bundle(args.ckpt)
    scene = Path(args.scene)
    dataset_class = type("Scene", (RasterDataset,), {"filename_glob": scene.name, "is_image": True})
    dataset = dataset_class(paths=str(scene.parent))
    with rasterio.open(scene) as src:
        height, width, left, top = src.height, src.width, src.bounds.left, src.bounds.top
        crs, transform = src.crs, src.transform
    plan = make_plan(height, width, bundle.geometry, args.tile, args.overlap, args.cells)
    size, stride = plan.read_size, (args.tile - args.overlap) if plan.blended else 27 * plan.cells
    sampler = GridGeoSampler(dataset, size=size, stride=stride)
    loader = DataLoader(dataset, sampler=sampler, batch_size=args.batch, collate_fn=stack_samples)
    scale = bundle.geometry.output_stride
    out = np.zeros((len(bundle.class_names), plan.height, plan.width), dtype=np.float32)
    with torch.inference_mode():
        for batch in loader:
            probs = model(torch.nan_to_num(batch["image"].float())).softmax(1).numpy()
            for prob, bounds in zip(probs, batch["bounds"], strict=True):
                row = round((top - bounds[1].stop) / 10) // scale
                col = round((bounds[0].start - left) / 10) // scale
                target = out[:, row : row + prob.shape[1], col : col + prob.shape[2]]
                target[...] = prob[:, : target.shape[1], : target.shape[2]]
    profile = {"driver": "COG", "count": out.shape[0], "height": out.shape[1], "width": out.shape[2],
               "dtype": "float32", "crs": crs, "transform": transform, "compress": "deflate"}  # fmt: skip
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with rasterio.open(Path(args.out) / f"{scene.stem}.prob.tif", "w", **profile) as dst:
        dst.write(out)
    return {"seconds": time.perf_counter() - start}


def run_case(case: str, model: str, scene: Path, ckpt: Path, work: Path, **settings: Any) -> dict[str, Any]:
    """Run one case in a fresh process; returns its timing and peak RSS."""
    out = work / f"out-{case}-{model}-{scene.stem}-{settings.get('workers', 0)}"
    shutil.rmtree(out, ignore_errors=True)  # a finished output would be skipped (resume)
    command = [sys.executable, __file__, "--case", case, "--model", model, "--scene", str(scene),
               "--ckpt", str(ckpt), "--out", str(out)]  # fmt: skip
    for key, value in settings.items():
        command += [f"--{key}", str(value)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{case} {model} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def reuses_freed_memory(args: argparse.Namespace) -> bool:
    """Whether the run keeps freed memory: ``--reuse-freed-memory``, else as predict.yaml's default."""
    setting = args.reuse_freed_memory
    if setting == "config":
        from omegaconf import OmegaConf

        from minegeo.config import CONFIG_DIR

        setting = str(OmegaConf.load(CONFIG_DIR / "predict.yaml").reuse_freed_memory).lower()
    return setting == "true"


def sweep(model_name: str, ckpt: Path, reuse: bool) -> dict[str, int]:
    """Pick the window size with the best bare-forward throughput per scene pixel."""
    import torch

    from minegeo.bundle import load_bundle
    from minegeo.inference.allocator import reuse_freed_memory

    if reuse:
        reuse_freed_memory()
    _, model = load_bundle(ckpt)
    model = model.to(memory_format=torch.channels_last)
    best: tuple[float, dict[str, int]] = (0.0, {})
    options = (
        [{"cells": c} for c in (16, 32, 48, 64)]
        if model_name == "fcn"
        else [{"tile": t} for t in (256, 512, 768)]
    )
    with torch.inference_mode():
        for option in options:
            side = 27 * option["cells"] + 202 if "cells" in option else option["tile"]
            useful = 27 * option["cells"] if "cells" in option else option["tile"] - 64
            batch = torch.randn(2, 12, side, side).contiguous(memory_format=torch.channels_last)
            model(batch)
            start = time.perf_counter()
            model(batch)
            rate = 2 * useful**2 / (time.perf_counter() - start)
            print(f"  sweep {model_name} {option}: {rate / 1e6:.2f} MPix/s", flush=True)
            best = max(best, (rate, option), key=lambda item: item[0])
    return best[1]


def main() -> None:
    """Parse arguments; run one case (child) or the whole table (parent)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--case")
    parser.add_argument("--model", nargs="*", default=["fcn", "unet"])
    parser.add_argument("--scene")
    parser.add_argument("--ckpt")
    parser.add_argument("--out")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--compress", default="zstd", help="input scene codec: zstd, lzw, deflate, none")
    parser.add_argument("--memory", type=int, nargs="*", default=[])
    parser.add_argument(
        "--scan", type=int, default=0, help="also end to end over this many scenes in one run"
    )
    parser.add_argument("--table", default="yes", choices=["yes", "no"], help="no: only the --memory runs")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=64)
    parser.add_argument("--cells", type=int, default=48)
    parser.add_argument("--sweep", default="yes", choices=["yes", "no"], help="no: --tile / --cells as given")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--reuse-freed-memory", default="config", choices=["config", "true", "false"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (taking turns); fastest counts")
    args = parser.parse_args()
    if args.case:
        args.model = args.model[0]
        cases = {"e2e": case_e2e, "forward": case_forward, "torchgeo": case_torchgeo, "read": case_read,
                 "forward_nchw": lambda a: case_forward(a, channels_last=False)}  # fmt: skip
        result = cases[args.case](args)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return
    table(args)


def table(args: argparse.Namespace) -> None:
    """Write scenes and checkpoints, run every case, print the table."""
    work = Path(args.workdir or tempfile.mkdtemp(prefix="minegeo-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    scene = write_scene(work / f"scene{args.size}-{args.compress}.tif", args.size, args.size, args.compress)
    digital = work / f"scene{args.size}-{args.compress}-uint16.tif"
    scenes = {
        "float32": scene,
        "uint16": write_scene(digital, args.size, args.size, args.compress, dtype="uint16"),
    }
    rows = []
    for model in args.model:
        ckpt = write_checkpoint(work / f"{model}.ckpt", model)
        reuse = reuses_freed_memory(args)
        window = {"cells": args.cells} if model == "fcn" else {"tile": args.tile}
        if args.sweep == "yes":
            window = sweep(model, ckpt, reuse)
        settings = {"overlap": args.overlap, "batch": args.batch, "reuse-freed-memory": str(reuse).lower(),
                    **window}  # fmt: skip
        best: dict[tuple[str, int], dict[str, Any]] = {}
        # the cases take turns, so a slow spell of a shared machine hits them all alike
        for repeat in range(args.repeat if args.table == "yes" else 0):
            for case, workers in CASES:
                print(f"  {model} {case} workers={workers} run {repeat + 1}/{args.repeat}", flush=True)
                run, uint16, _ = case.partition("_uint16")
                scene_file = scenes["uint16" if uint16 else "float32"]
                result = run_case(run, model, scene_file, ckpt, work, workers=workers, **settings)
                kept = best.setdefault((case, workers), result)
                kept["peak_rss_mb"] = max(kept["peak_rss_mb"], result["peak_rss_mb"])
                kept["seconds"] = min(kept["seconds"], result["seconds"])
        for (case, workers), result in best.items():
            rows.append((model, f"{case}" + (f" w={workers}" if case.startswith("e2e") else ""), args.size,
                         args.size, result, settings))  # fmt: skip
        if args.scan > 1:
            folder = scan_folder(work, scene, args.scan)
            runs = [
                run_case("e2e", model, folder, ckpt, work, workers=0, **settings) for _ in range(args.repeat)
            ]
            fastest = min(runs, key=lambda run: run["seconds"]) | {"scenes": args.scan}
            rows.append((model, f"e2e scan of {args.scan}", args.size, args.size, fastest, settings))
        for side in args.memory:
            big = write_scene(work / f"scene{side}x{side}-{args.compress}.tif", side, side, args.compress)
            result = run_case("e2e", model, big, ckpt, work, workers=0, **settings)
            rows.append((model, "e2e (memory)", side, side, result, settings))
    _print(rows)


def _print(rows: list[tuple[str, str, int, int, dict[str, Any], dict[str, int]]]) -> None:
    print(
        "\n| model | case | scene px | window | MPix/s | km²/s | s | peak RSS MB |"
        "\n|---|---|---|---|---|---|---|---|"
    )
    rates: dict[tuple[str, str], float] = {}
    for model, case, height, width, result, settings in rows:
        scenes = result.get("scenes", 1)
        mpix = scenes * height * width / 1e6 / result["seconds"]
        rates[(model, case)] = mpix
        window = f"cells {settings['cells']}" if "cells" in settings else f"tile {settings['tile']}"
        pixels = f"{height}x{width}" if scenes == 1 else f"{scenes} x {height}x{width}"
        print(f"| {model} | {case} | {pixels} | {window} | {mpix:.3f} | {mpix * 100:.1f} "
              f"| {result['seconds']:.1f} | {result['peak_rss_mb']:.0f} |")  # fmt: skip
    for model in sorted({row[0] for row in rows if row[1] == "forward"}):
        best = max(rates[(model, "e2e w=0")], rates[(model, "e2e w=1")])
        # forward and reading both use every core, one after the other: their seconds add up
        bound = 1 / (1 / rates[(model, "forward")] + 1 / rates[(model, "read")])
        uint16 = rates[(model, "read_uint16")] / rates[(model, "read")]
        print(f"{model}: e2e/forward = {best / rates[(model, 'forward')]:.2f}, "
              f"e2e/forward NCHW = {best / rates[(model, 'forward_nchw')]:.2f}, "
              f"e2e/torchgeo = {best / rates[(model, 'torchgeo')]:.2f}, "
              f"e2e/(forward + reading) = {best / bound:.2f}, "
              f"reading uint16 / float32 = {uint16:.2f}")  # fmt: skip
        for (scanned, case), rate in rates.items():
            if scanned == model and case.startswith("e2e scan"):
                print(f"{model}: {case}/forward = {rate / rates[(model, 'forward')]:.2f}")


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    main()
