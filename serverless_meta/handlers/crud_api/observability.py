"""Powertools observability singletons, created once per execution environment.

Service name, metrics namespace and log level come from the POWERTOOLS_* variables
the construct sets on every function.
"""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# Only writes publish business metrics; a read with none is normal, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
