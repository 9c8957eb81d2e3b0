"""Tests for the segmentation_models_pytorch wrapper."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from minegeo.errors import MinegeoInputError
from minegeo.models import SegmentationModel, smp_model


@pytest.mark.parametrize(
    ("arch", "multiple"), [("Unet", 32), ("FPN", 32), ("DeepLabV3Plus", 16), ("PSPNet", 8), ("PAN", 64)]
)
def test_geometry_size_multiple(arch: str, multiple: int) -> None:
    assert smp_model(arch, in_channels=3).geometry.size_multiple == multiple


@pytest.mark.parametrize("in_channels", [12, 3])
def test_output_is_per_pixel_scores(in_channels: int) -> None:
    model = smp_model("Unet", in_channels=in_channels, num_classes=3).eval()
    assert model(torch.zeros(1, in_channels, 64, 96)).shape == (1, 3, 64, 96)


def test_downsample_runs_the_network_at_a_coarser_scale() -> None:
    """Scores come back on the input's pixels; the network sees the k x k averaged input."""
    torch.manual_seed(0)
    arch_args = {"Unet": {"decoder_channels": [32, 16, 8]}}
    model = smp_model(
        "Unet", in_channels=3, num_classes=2, encoder_depth=3, downsample=2, arch_args=arch_args
    )
    model.eval()
    assert model.geometry.size_multiple == 16  # the encoder's 8, in input pixels
    x = torch.rand(1, 3, 64, 96)
    with torch.inference_mode():
        out = model(x)
    assert out.shape == (1, 2, 64, 96)
    # replacing a 2x2 block by its mean changes nothing: the network sees block averages
    flat = x.clone()
    flat[..., :2, :2] = x[..., :2, :2].mean(dim=(-2, -1), keepdim=True)
    with torch.inference_mode():
        torch.testing.assert_close(model(flat), out)


def test_downsample_below_one_is_one_line() -> None:
    with pytest.raises(MinegeoInputError, match=r"^model\.downsample=0: expected a whole number >= 1$"):
        smp_model("Unet", in_channels=3, downsample=0)


def test_segformer_builds() -> None:
    model = smp_model("Segformer", in_channels=12, num_classes=2).eval()
    assert model(torch.zeros(1, 12, 64, 64)).shape == (1, 2, 64, 64)


@pytest.mark.parametrize("arch", ["Unet", "UnetPlusPlus", "FPN", "DeepLabV3Plus", "PSPNet", "Segformer"])
def test_channels_last_gives_the_same_scores(arch: str) -> None:
    """Predict runs models channels-last; every configured architecture must allow it."""
    torch.manual_seed(0)
    model = smp_model(arch, in_channels=12, num_classes=3).eval()
    x = torch.rand(2, 12, 64, 64)
    with torch.inference_mode():
        expected = model(x)
        got = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_instantiable_from_hydra_node() -> None:
    model = instantiate({"_target_": "minegeo.models.smp_model", "arch": "FPN", "in_channels": 4})
    assert isinstance(model, SegmentationModel)


def test_arch_args_of_the_chosen_architecture_apply() -> None:
    arch_args = {"Unet": {"decoder_channels": [32, 16, 8]}, "FPN": {"decoder_dropout": 0.5}}
    unet = smp_model("Unet", in_channels=3, encoder_depth=3, arch_args=arch_args)
    assert unet.model.decoder.blocks[-1].conv2[0].out_channels == 8
    fpn = smp_model("FPN", in_channels=3, encoder_depth=3, arch_args=arch_args)
    assert fpn.model.decoder.dropout.p == 0.5


def test_an_argument_the_architecture_does_not_take_is_one_line() -> None:
    with pytest.raises(MinegeoInputError, match=r"^model\.decoder_attention_type: FPN takes no argument"):
        smp_model("FPN", in_channels=3, decoder_attention_type="scse")


def test_arch_args_of_another_architecture_are_checked_too() -> None:
    with pytest.raises(MinegeoInputError, match=r"^model\.arch_args\.FPN\.decoder_channels: FPN takes no"):
        smp_model("Unet", in_channels=3, arch_args={"FPN": {"decoder_channels": [8]}})


@pytest.mark.parametrize(
    ("arch", "arch_args", "key"),
    [("Unte", None, "model.arch"), ("Unet", {"Fpn2": {}}, "model.arch_args.Fpn2")],
)
def test_unknown_architecture_lists_the_known_ones(arch: str, arch_args: dict | None, key: str) -> None:
    with pytest.raises(
        MinegeoInputError,
        match=f"^{key}: .* is not a segmentation_models_pytorch architecture; expected Unet",
    ):
        smp_model(arch, in_channels=3, arch_args=arch_args)


def test_loads_full_model_weights(tmp_path: Path) -> None:
    source = smp_model("Unet", in_channels=4)
    torch.save(source.model.state_dict(), tmp_path / "full.pt")
    loaded = smp_model("Unet", in_channels=4, weights=str(tmp_path / "full.pt"))
    torch.testing.assert_close(loaded.state_dict(), source.state_dict())


def test_loads_encoder_only_weights(tmp_path: Path) -> None:
    source = smp_model("Unet", in_channels=4)
    torch.save(source.model.get_submodule("encoder").state_dict(), tmp_path / "encoder.pt")
    loaded = smp_model("FPN", in_channels=4, weights=str(tmp_path / "encoder.pt"))
    torch.testing.assert_close(
        loaded.model.get_submodule("encoder").state_dict(), source.model.get_submodule("encoder").state_dict()
    )


def test_mismatched_weights_name_the_file(tmp_path: Path) -> None:
    torch.save(smp_model("Unet", in_channels=3).state_dict(), tmp_path / "rgb.pt")
    with pytest.raises(MinegeoInputError, match=r"rgb\.pt: weights fit neither"):
        smp_model("Unet", in_channels=12, weights=str(tmp_path / "rgb.pt"))


def test_unreadable_weights_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.pt").write_text("not torch")
    with pytest.raises(MinegeoInputError, match=r"bad\.pt: not a readable weights file"):
        smp_model("Unet", in_channels=12, weights=str(tmp_path / "bad.pt"))
