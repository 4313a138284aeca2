"""Statistics over a store: verification metrics, BD-rate and parity, summaries, where the bits go."""
