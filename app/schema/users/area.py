"""The users area in the schema."""

from app.schema.runtime.area import Area
from app.schema.users import plans as _plans  # noqa: F401 - registers the area's compiled fields
from app.schema.users.mutations import UserMutations
from app.schema.users.queries import AnonymityRequestNode, UserQueries
from app.schema.users.types import User

AREA = Area(queries=(UserQueries,), mutations=(UserMutations,), types=(User, AnonymityRequestNode))
