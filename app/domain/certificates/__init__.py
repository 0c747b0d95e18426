"""Certificates: plain data (`model`), the CA port (`authority`), pure rules (`rules`) and the use
cases (`lifecycle`: order, issue, cancel; `changes`: renew, revoke, delete, system rights). Import the
modules themselves: `app.domain.common.ports` needs `model` and `authority` while the use cases need
the ports, so this package imports nothing."""
