"""Employee requests for a user account: asked for publicly, confirmed by the requester's e-mail,
decided by the organisation's user administrators."""
