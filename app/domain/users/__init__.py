"""Users: plain data (`model`), pure rules (`rules`), lifecycle use cases (`lifecycle`) and anonymity
(`anonymity`). Import the modules themselves: `app.domain.common.ports` needs `model` while the use
cases need the ports, so this package imports nothing."""
