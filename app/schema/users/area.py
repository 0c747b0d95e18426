"""The users area in the schema."""

from app.schema.runtime.area import Area
from app.schema.users.mutations import UserMutations
from app.schema.users.queries import AnonymityRequestNode, UserQueries
from app.schema.users.types import User

AREA = Area(queries=(UserQueries,), mutations=(UserMutations,), types=(User, AnonymityRequestNode))
