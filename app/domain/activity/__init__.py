"""History: plain data (`model`) and the one way every change is recorded (`history`)."""
