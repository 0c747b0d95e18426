"""User groups: plain data (`model`) and the use cases (`lifecycle`)."""
