"""A custom domain for a service's API: its certificate, the mapping of the whole API, and its DNS name."""

from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

from serverless_meta.props import ServiceProps


def build_domain(scope: Construct, props: ServiceProps, *, api: apigateway.RestApi) -> apigateway.DomainName | None:
    """``domain_name`` in front of the API (a service on another's API is behind that API's), or None.

    A regional domain (the API is regional) on TLS 1.2 at least, with the certificate given or one made
    and validated through DNS in ``hosted_zone``, whose alias record then points the name at the domain.
    The whole API is mapped at the domain's root, so every service's paths on it stay as they are:
    ``https://api.example.com/metadata/{id}``.
    """
    edge = props.edge
    if props.api.shared_api is not None or edge.domain_name is None:
        return None
    certificate = edge.certificate or acm.Certificate(
        scope,
        "Certificate",
        domain_name=edge.domain_name,
        validation=acm.CertificateValidation.from_dns(edge.hosted_zone),
    )
    domain = apigateway.DomainName(
        scope,
        "Domain",
        domain_name=edge.domain_name,
        certificate=certificate,
        endpoint_type=apigateway.EndpointType.REGIONAL,
        security_policy=apigateway.SecurityPolicy.TLS_1_2,
        mapping=api,
    )
    if edge.hosted_zone is not None:
        route53.ARecord(
            scope,
            "DomainRecord",
            zone=edge.hosted_zone,
            record_name=f"{edge.domain_name}.",
            target=route53.RecordTarget.from_alias(targets.ApiGatewayDomain(domain)),
        )
    CfnOutput(scope, "Url", value=f"https://{edge.domain_name}/", description=f"{props.resource.name}: the API's URL")
    return domain
