"""Users: plain data (`model`), pure rules (`rules`), the use cases (`lifecycle`: create and activate;
`editing`; `deactivation`: deactivate, reactivate, the schedule, delete) and anonymity (`anonymity`).
Import the modules themselves: `app.domain.common.ports` needs `model` while the use cases need the
ports, so this package imports nothing."""
