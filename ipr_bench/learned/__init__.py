"""Learned codecs: CompressAI models, their bitstream, checkpoints and coding."""
