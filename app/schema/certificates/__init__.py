"""Certificates in GraphQL: `types`, `queries` (also parsing the CSV export's filter), `mutations`."""
