"""The stored item's attribute names, as the handler code (``crud_api.contract``) writes them.

The worker runtime ships in a layer of its own, without ``crud_api``: these are the same facts,
stated again, and tests/workers/test_contract.py fails the moment the two disagree.
"""

PARTITION_KEY = "pk"
SORT_KEY = "sk"
DATA_ATTRIBUTE = "data"
CREATED_AT = "createdAt"
UPDATED_AT = "updatedAt"
VERSION = "version"
WRITTEN_BY = "writtenBy"
WRITER_WORKER = "worker"
ETAG_ATTRIBUTE = "etag"
OWNER_ATTRIBUTE = "owner"
