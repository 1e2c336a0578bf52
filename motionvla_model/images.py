"""Camera images -> the vision tower's patches, without torchvision.

Accepted arrays (numpy, ``uint8`` 0–255 or floating point 0–1):

* ``H×W×3`` RGB — used as is;
* ``H×W`` or ``H×W×1`` grayscale — the channel is repeated three times;
* ``H×W×4`` RGBA — composited over a white background (so transparent regions look like
  an empty, bright scene rather than black), then RGB.

Each side must lie in ``[min_image_side, max_image_side]`` and the aspect ratio must not
exceed ``max_image_aspect_ratio``; anything else raises :class:`InvalidImageError`. The image
is then resized (keeping its aspect ratio) so that its pixel count lies within
``[min_image_pixels, max_image_pixels]`` and both sides are multiples of
``patch_size × merge_size`` (the Qwen "smart resize"), cut into patches and normalised by
the family's image processor. A 224×224 image gives ``(224/16)² / 4 = 49`` image tokens on
Qwen3.5 and Qwen3-VL and ``(224/14)² / 4 = 64`` on Qwen2.5-VL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from .backbone import BackboneFamily
from .configuration import MotionVLAConfig

__all__ = ["ImageInputs", "ImagePreprocessor", "InvalidImageError", "to_rgb_uint8"]


class InvalidImageError(ValueError):
    """An image array has an unsupported shape, type, size or non-finite values."""


@dataclass(frozen=True)
class ImageInputs:
    """What the vision tower takes for a batch of images."""

    pixel_values: torch.Tensor
    image_grid_thw: torch.Tensor
    tokens_per_image: list[int]
    notes: list[str]


def to_rgb_uint8(image: object) -> tuple[np.ndarray, list[str]]:
    """Any accepted image array -> ``H×W×3 uint8`` plus notes on what was converted."""
    if not isinstance(image, np.ndarray):
        raise InvalidImageError(f"image must be a numpy array, got {type(image).__name__}")
    notes: list[str] = []
    array = image
    if array.dtype == np.uint8:
        pass
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise InvalidImageError("image contains NaN or infinite values")
        if array.size and (array.min() < 0.0 or array.max() > 1.0):
            raise InvalidImageError("floating-point images must have values in [0, 1]")
        array = np.round(array * 255.0).astype(np.uint8)
    else:
        raise InvalidImageError(f"image dtype must be uint8 or floating point, got {array.dtype}")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InvalidImageError(
            f"image must be H×W, H×W×1, H×W×3 (RGB) or H×W×4 (RGBA), got shape {image.shape}"
        )
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
        notes.append("grayscale image repeated to three channels")
    elif array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        rgb = array[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        array = np.round(rgb).astype(np.uint8)
        notes.append("RGBA image composited over white")
    return np.ascontiguousarray(array), notes


class ImagePreprocessor:
    """Resizes within the pixel budget and patchifies for one backbone family."""

    def __init__(self, family: BackboneFamily, config: MotionVLAConfig) -> None:
        if not family.multimodal:
            raise InvalidImageError(f"backbone family {family.name!r} takes no images")
        self.family = family
        self.config = config
        self._processor = Qwen2VLImageProcessorPil(
            patch_size=family.patch_size,
            merge_size=family.merge_size,
            temporal_patch_size=family.temporal_patch_size,
            image_mean=list(family.image_mean),
            image_std=list(family.image_std),
            size={
                "shortest_edge": config.min_image_pixels,
                "longest_edge": config.max_image_pixels,
            },
        )

    def _check_geometry(self, height: int, width: int) -> None:
        low, high = self.config.min_image_side, self.config.max_image_side
        if not (low <= height <= high and low <= width <= high):
            raise InvalidImageError(
                f"image is {height}×{width} pixels; each side must be in [{low}, {high}]"
            )
        ratio = max(height, width) / min(height, width)
        if ratio > self.config.max_image_aspect_ratio:
            raise InvalidImageError(
                f"image aspect ratio {ratio:.1f} exceeds {self.config.max_image_aspect_ratio}"
            )

    def __call__(self, images: list[np.ndarray]) -> ImageInputs:
        rgb_images, notes = [], []
        for image in images:
            rgb, image_notes = to_rgb_uint8(image)
            self._check_geometry(*rgb.shape[:2])
            if rgb.shape[0] * rgb.shape[1] > self.config.max_image_pixels:
                notes.append(
                    f"image of {rgb.shape[0]}×{rgb.shape[1]} downscaled to the "
                    f"{self.config.max_image_pixels}-pixel budget"
                )
            rgb_images.append(rgb)
            notes.extend(image_notes)
        out = self._processor(images=rgb_images, return_tensors="pt")
        grid = out["image_grid_thw"]
        merge = self.family.merge_size**2
        return ImageInputs(
            pixel_values=out["pixel_values"],
            image_grid_thw=grid,
            tokens_per_image=[int(g.prod()) // merge for g in grid],
            notes=notes,
        )
