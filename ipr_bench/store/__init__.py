"""The result store: one parquet table per run and the schema its writers and readers share."""
