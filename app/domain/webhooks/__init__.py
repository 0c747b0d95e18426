"""Webhooks and the change feed: what history records as changes (`events`), the rules for
endpoints and their deliveries (`rules`), and the use cases (`endpoints`, `deliveries`)."""
