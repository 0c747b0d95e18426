"""The certificates area in the schema."""

from app.schema.certificates.mutations import CertificateMutations
from app.schema.certificates.queries import CertificateQueries
from app.schema.certificates.types import CertificateNode, CertificateProfileNode
from app.schema.runtime.area import Area

AREA = Area(queries=(CertificateQueries,), mutations=(CertificateMutations,),
            types=(CertificateNode, CertificateProfileNode))
