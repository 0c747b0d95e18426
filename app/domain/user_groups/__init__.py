"""User groups: plain data (`model`) and the use cases: the groups themselves (`lifecycle`), our own
members (`members`), partners' users as external members (`external`), and how a partner is told
(`partners`)."""
