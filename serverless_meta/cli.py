"""The ``serverless-meta`` command: ``init`` needs only the library; every other command is local mode's.

    serverless-meta init [DIR]       write a new CDK app with one service, its tests and its README
    serverless-meta local            serve the app's REST APIs on localhost (the ``local`` extra)
    serverless-meta token --user U   print an ID token for local user U (the ``local`` extra)
    serverless-meta openapi          print the OpenAPI document of the app's REST API (the ``local`` extra)
    serverless-meta backfill --service S   put a service's older items into its indexes (the ``local`` extra)
"""

from __future__ import annotations

import sys

from serverless_meta import installation


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    if arguments[:1] == ["init"]:
        from serverless_meta.starter import main as init

        return init(arguments[1:])
    missing = installation.missing_local_mode()
    if missing is not None:
        command = " ".join(["serverless-meta", *arguments[:1]])
        print(installation.local_mode_hint(command, missing), file=sys.stderr)
        return 2
    from serverless_meta.local.cli import main as local_mode

    return local_mode(arguments)
