"""CloudFormation resources per service, by type: one service alone, and one of several sharing a stack.

A shared service is one given the first service's table, user pool, key and alarm topic (as the
sample app's Feedback is); with ``--api`` it also adds its routes to the first service's API.
Run: .venv/bin/python bench/resources.py [services] [--api]
"""

from __future__ import annotations

import collections
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]
os.environ["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ['PATH']}"

import aws_cdk as cdk  # noqa: E402

from serverless_meta import ServerlessCrudApi  # noqa: E402


def stack_template(services: int, *, share_api: bool) -> dict:
    app = cdk.App()
    stack = cdk.Stack(app, "Resources", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    first = ServerlessCrudApi(stack, "Service0", resource_name="resource0")
    shared = dict(
        table=first.table, user_pool=first.user_pool, alarm_topic=first.alarm_topic, encryption_key=first.encryption_key
    )
    if share_api:
        shared["api"] = first.api
    for number in range(1, services):
        ServerlessCrudApi(stack, f"Service{number}", resource_name=f"resource{number}", **shared)
    return app.synth().get_stack_by_name("Resources").template


def by_type(template: dict) -> collections.Counter:
    return collections.Counter(resource["Type"].removeprefix("AWS::") for resource in template["Resources"].values())


def main() -> None:
    services = int(next((a for a in sys.argv[1:] if a.isdigit()), "5"))
    share_api = "--api" in sys.argv
    template = stack_template(services, share_api=share_api)
    print(f"{services} five-operation services in one stack{' sharing one API' if share_api else ''}: "
          f"{len(template['Resources'])} resources")
    if services > 1:
        # What one more service adds: some of its resources live under the shared API's constructs.
        one_more = by_type(template) - by_type(stack_template(services - 1, share_api=share_api))
        print(f"one more shared service: {sum(one_more.values())} resources")
        for resource_type, count in sorted(one_more.items(), key=lambda item: (-item[1], item[0])):
            print(f"  {count:3d}  {resource_type}")


if __name__ == "__main__":
    main()
