"""The certificates area in the schema."""

from app.schema.certificates import plans as _plans  # noqa: F401 - registers the area's compiled fields
from app.schema.certificates.mutations import CertificateMutations
from app.schema.certificates.queries import CertificateQueries
from app.schema.certificates.types import CertificateNode, CertificateProfileNode
from app.schema.runtime.area import Area

AREA = Area(queries=(CertificateQueries,), mutations=(CertificateMutations,),
            types=(CertificateNode, CertificateProfileNode))
