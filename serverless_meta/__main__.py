"""``python -m serverless_meta``: the same as the ``serverless-meta`` command."""

import sys

from serverless_meta.cli import main

sys.exit(main())
