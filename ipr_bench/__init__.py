"""ipr-bench: rate–accuracy benchmarks for face-image compression that must keep face recognition working."""

__version__ = "0.1.0"
