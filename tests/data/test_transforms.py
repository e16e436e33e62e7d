"""Augmentation transforms (book Module 08): flip, crop, compose, normalize."""

import numpy as np
import pytest

from tinytorch import Tensor
from tinytorch.core.data_loader import (
    Compose,
    DataLoader,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    TensorDataset,
)

IMAGE = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5)  # (C, H, W)


def test_flip_with_p_one_mirrors_the_width_axis():
    """p=1 always flips, along the last (width) axis only."""
    out = RandomHorizontalFlip(p=1.0)(IMAGE)
    assert np.array_equal(out, IMAGE[:, :, ::-1])


def test_flip_with_p_zero_never_flips():
    """p=0 leaves every image as it was."""
    assert np.array_equal(RandomHorizontalFlip(p=0.0)(IMAGE), IMAGE)


def test_flip_probability_is_roughly_p_and_seeded():
    """About p of the calls flip; the same seed flips the same calls."""
    t1, t2 = RandomHorizontalFlip(0.3, seed=7), RandomHorizontalFlip(0.3, seed=7)
    flips = [not np.array_equal(t1(IMAGE), IMAGE) for _ in range(1000)]
    again = [not np.array_equal(t2(IMAGE), IMAGE) for _ in range(1000)]
    assert flips == again
    assert 0.25 < np.mean(flips) < 0.35


def test_flip_probability_outside_zero_one_is_refused():
    """p is a probability."""
    with pytest.raises(ValueError, match="probability"):
        RandomHorizontalFlip(p=1.5)


def test_crop_pads_then_cuts_the_requested_size():
    """CIFAR's recipe: pad 32x32 by 4 to 40x40, crop back to 32x32."""
    image = np.ones((3, 32, 32), dtype=np.float32)
    crops = [RandomCrop(32, padding=4, seed=s)(image) for s in range(20)]
    assert all(c.shape == (3, 32, 32) for c in crops)
    assert any(c.sum() < image.sum() for c in crops)  # some crops include zero padding


def test_crop_without_padding_is_a_window_of_the_image():
    """With padding=0 the crop is a sub-window of the original."""
    out = RandomCrop((2, 3), padding=0, seed=0)(IMAGE)
    assert out.shape == (2, 2, 3)
    rows = [IMAGE[:, r : r + 2, c : c + 3] for r in range(3) for c in range(3)]
    assert any(np.array_equal(out, w) for w in rows)


def test_crop_larger_than_the_padded_image_is_an_error():
    """A crop must fit inside the padded image."""
    with pytest.raises(ValueError, match="larger than the padded image"):
        RandomCrop(10, padding=1)(IMAGE)
    with pytest.raises(ValueError):
        RandomCrop(0)


def test_transforms_keep_tensors_as_tensors():
    """A Tensor in gives a Tensor out; an array in gives an array."""
    out = RandomHorizontalFlip(1.0)(Tensor(IMAGE))
    assert isinstance(out, Tensor) and np.array_equal(out.data, IMAGE[..., ::-1])


def test_compose_applies_in_order():
    """Compose chains the transforms left to right."""
    pipeline = Compose([RandomHorizontalFlip(1.0), Normalize(mean=1.0, std=2.0)])
    assert np.allclose(pipeline(IMAGE), (IMAGE[..., ::-1] - 1.0) / 2.0)


def test_normalize_per_channel():
    """One mean/std per channel (axis -3)."""
    out = Normalize(mean=[0.0, 40.0], std=[1.0, 2.0])(IMAGE)
    assert np.allclose(out[0], IMAGE[0]) and np.allclose(out[1], (IMAGE[1] - 40.0) / 2.0)
    with pytest.raises(ValueError, match="per-channel"):
        Normalize(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0])(IMAGE)


def test_data_loader_applies_the_transform_per_sample():
    """DataLoader(transform=...) augments each sample's features before stacking."""
    images = np.stack([IMAGE] * 6)
    ds = TensorDataset(Tensor(images), Tensor(np.arange(6)))
    loader = DataLoader(ds, batch_size=4, transform=RandomHorizontalFlip(1.0))
    x, y = next(iter(loader))
    assert x.shape == (4, 2, 4, 5) and np.array_equal(x.data[0], IMAGE[..., ::-1])
    assert y.data.tolist() == [0, 1, 2, 3]


def test_seeded_augmented_epochs_are_reproducible():
    """Same seeds for loader and transforms give identical augmented batches."""

    def epoch():
        ds = TensorDataset(Tensor(np.random.default_rng(0).random((8, 1, 6, 6))), np.arange(8))
        t = Compose([RandomHorizontalFlip(seed=1), RandomCrop(6, padding=2, seed=2)])
        loader = DataLoader(ds, batch_size=3, shuffle=True, seed=3, transform=t)
        return [x.data for x, _ in loader]

    assert all(np.array_equal(a, b) for a, b in zip(epoch(), epoch(), strict=True))
