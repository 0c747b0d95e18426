"""Certificates in the database: `rows` (columns and mapping), `repository` (the certificate
authority's store and the write repository of one organisation), `reads` (lists, counts, batched
reads and the streamed export)."""
