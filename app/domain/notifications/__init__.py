"""Notifications: plain data (`model`) and in-app/e-mail delivery (`delivery`)."""
