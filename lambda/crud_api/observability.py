"""Powertools observability singletons, created once per execution environment.

Service name, metrics namespace and log level come from the POWERTOOLS_* variables
the construct sets on every function.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
