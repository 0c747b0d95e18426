"""User groups in GraphQL: `types` (groups, members, the rights catalogue), `external` (partner users
and memberships), `queries`, `mutations`."""
