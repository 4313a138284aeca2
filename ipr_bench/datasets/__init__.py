"""Datasets: items (images with identities) and verification pairs in folds. Importing registers them."""

from ipr_bench.datasets import celeba_wild, celebahq, folder, lfw  # noqa: E402,F401  (registers the built-in datasets)
from ipr_bench.datasets.base import Dataset, Item, Pair

__all__ = ["Dataset", "Item", "Pair"]
