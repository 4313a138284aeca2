"""Running a benchmark: settings × chunks of images as work units, executors, the run's provenance."""
