"""Training learned codecs: data, losses, the trainer, fine-tuning and compact training states."""
