"""Certificates in GraphQL: `types`, `reading` (which columns a selection reads), `queries` (also
parsing the CSV export's filter), `mutations`."""
