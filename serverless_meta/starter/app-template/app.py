#!/usr/bin/env python3
"""The app: one serverless-meta service, with cdk-nag's checks on every synthesis.

``npx cdk synth`` (or ``make synth``) runs this file; ``make local`` serves it on localhost.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct

from serverless_meta import ServerlessCrudApi

STACK_NAME = "{{stack}}"


class ServiceStack(cdk.Stack):
    """Orders: each signed-in user creates, lists, reads, replaces and deletes their own orders."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Who is paged when an alarm fires: cdk.json's alarmEmail, or `npx cdk deploy -c alarmEmail=...`.
        alarm_email = self.node.try_get_context("alarmEmail") or None
        ServerlessCrudApi(self, "Orders", resource_name="orders", alarm_email=alarm_email)


def build_app(**app_props) -> cdk.App:
    app = cdk.App(**app_props)
    ServiceStack(app, STACK_NAME)
    # The same gates as serverless-meta's own: synthesis fails on any finding nobody has acknowledged.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app


if __name__ == "__main__":
    build_app().synth()
