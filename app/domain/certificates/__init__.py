"""Certificates: plain data (`model`), the CA port (`authority`), pure rules (`rules`) and the use
cases (`lifecycle`). Import the modules themselves: `app.domain.common.ports` needs `model` and `authority`
while `lifecycle` needs the ports, so this package imports nothing."""
