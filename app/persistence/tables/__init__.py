"""Every table of the gateway, one module per area (`tables/users.py`, …), all on one `metadata`
(app/persistence/base.py). Importing this package imports every module in it, so the metadata the
migrations are compared with (tests/test_migrations.py) holds every table; a new area adds its own
module here. Import a table from its module: `from app.persistence.tables.users import users`."""

import importlib as _importlib
import pkgutil as _pkgutil

for _module in _pkgutil.iter_modules(__path__):
    _importlib.import_module(f"{__name__}.{_module.name}")
