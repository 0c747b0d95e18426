"""User groups in the database: `rows` (columns and mapping), `repository` (the write repository of
one organisation, with the two explicit cross-organisation operations), `reads` (list, count and the
batched reads behind the loaders)."""
