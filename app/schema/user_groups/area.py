"""The user groups area in the schema."""

from app.schema.runtime.area import Area
from app.schema.user_groups import plans as _plans  # noqa: F401 - registers the area's compiled fields
from app.schema.user_groups.external import ExternalUserNode
from app.schema.user_groups.mutations import UserGroupMutations
from app.schema.user_groups.queries import UserGroupQueries
from app.schema.user_groups.types import UserGroupNode

AREA = Area(queries=(UserGroupQueries,), mutations=(UserGroupMutations,), types=(UserGroupNode, ExternalUserNode))
