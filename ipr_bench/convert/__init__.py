"""Converters from published weight formats into the torch modules ipr-bench uses (no pickle, no TensorFlow)."""
