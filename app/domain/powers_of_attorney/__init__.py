"""Powers of attorney: plain data (`model`) and the use cases (`lifecycle`)."""
