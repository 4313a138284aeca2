"""What to run: named presets and the committed experiments that `ipr-bench reproduce` regenerates."""
