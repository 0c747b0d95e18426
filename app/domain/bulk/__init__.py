"""Bulk jobs (CSV import): plain data (`model`) and the jobs (`jobs`)."""
