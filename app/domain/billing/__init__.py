"""Billing: plain data (`model`), the price rules and the change of billing details (`changes`)."""
