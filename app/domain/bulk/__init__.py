"""Bulk user operations from a CSV file, run as a job: plain data (`model`), the file format and
templates (`csv_file`), a job's life (`jobs`: limits, queueing, the outcome, sending for activation),
the import (`importer`) with its state (`run`) and the rows of each operation (`create_rows`,
`existing_rows`). Import the modules themselves; this package imports nothing."""
