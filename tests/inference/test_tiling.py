"""Tests for the window plans."""

from __future__ import annotations

from minegeo.bundle import ModelGeometry
from minegeo.inference.tiling import make_plan, tile_starts
from minegeo.models import DiscoveryFCN

UNET = ModelGeometry(size_multiple=32, min_size=32)


def test_tile_starts_end_at_the_edge() -> None:
    assert tile_starts(300, 128, 96) == [0, 96, 172]


def test_short_axis_gets_one_tile() -> None:
    assert tile_starts(50, 128, 96) == [0]


def test_tiles_round_up_to_size_multiple() -> None:
    assert make_plan(500, 500, UNET, tile=100, overlap=16).read_size == 128


def test_scene_smaller_than_a_tile_is_read_in_one_window_of_its_own_size() -> None:
    assert make_plan(448, 448, UNET, tile=512, overlap=64).read_size == 448
    assert make_plan(448, 300, UNET, tile=512, overlap=64).read_size == 448
    assert make_plan(450, 100, UNET, tile=512, overlap=64).read_size == 480  # its size multiple
    assert make_plan(2000, 448, UNET, tile=512, overlap=64).read_size == 512


def test_tiles_cover_the_scene_row_major() -> None:
    plan = make_plan(300, 200, UNET, tile=128, overlap=32)
    covered = {
        (r, c)
        for ch in plan.chunks
        for r in range(ch.out_row, ch.out_row + ch.out_height)
        for c in range(ch.out_col, ch.out_col + ch.out_width)
    }
    assert len(covered) == 300 * 200
    assert [ch.band for ch in plan.chunks] == sorted(ch.band for ch in plan.chunks)


def test_fcn_blocks_cover_every_cell_once_per_position() -> None:
    geometry = DiscoveryFCN(padding="valid").geometry
    plan = make_plan(1000, 800, geometry, cells=8)
    assert (plan.height, plan.width) == (geometry.output_size(1000), geometry.output_size(800))
    cells = {
        (ch.out_row + i, ch.out_col + j)
        for ch in plan.chunks
        for i in range(ch.out_height)
        for j in range(ch.out_width)
    }
    assert len(cells) == plan.height * plan.width


def test_fcn_blocks_share_the_scene_evenly() -> None:
    plan = make_plan(4096, 4096, DiscoveryFCN(padding="same").geometry, cells=64)
    assert (plan.height, plan.cells, len(plan.chunks)) == (144, 48, 9)
    # no cell computed twice (blocks of 64, the last moved back, computed 1.8x the cells)
    assert sum(ch.out_height * ch.out_width for ch in plan.chunks) == 144 * 144


def test_fcn_valid_block_reads_its_cells_exact_windows() -> None:
    plan = make_plan(1000, 800, DiscoveryFCN(padding="valid").geometry, cells=8)
    assert (plan.read_size, plan.crop) == (27 * 7 + 215, 0)


def test_fcn_same_block_reads_a_halo_cell_before() -> None:
    plan = make_plan(1000, 800, DiscoveryFCN(padding="same").geometry, cells=8)
    assert (plan.read_size, plan.crop, plan.chunks[0].row) == (27 * 8 + 202, 1, -27)
