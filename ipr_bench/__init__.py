"""ipr-bench: rate–accuracy benchmarks for face-image compression that must keep face recognition working.

``ipr_bench.evaluate(preset, codecs=..., ...)`` runs one benchmark from Python (what ``ipr-bench run`` does)."""

from ipr_bench.experiments.evaluate import Evaluation, evaluate

__version__ = "0.1.0"
__all__ = ["Evaluation", "evaluate"]
