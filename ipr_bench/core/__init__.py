"""Foundations every stage uses: errors, the on-disk cache, plugin registries, images, weights, progress."""
