"""Users in the database: `rows` (columns and mapping), `repository` (the write repository of one
organisation, with `batches` for the CSV import), `reads` (list, count and batched reads)."""
