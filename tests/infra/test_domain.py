"""A custom domain in front of the API: the certificate (given, or made and validated in a zone), TLS 1.2
at least, the whole API mapped at the domain's root, the alias record, and the execute-api endpoint off."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_route53 as route53
from aws_cdk.assertions import Match, Template

from serverless_meta import InvalidPropError, ServerlessCrudApi
from tests.support import synthesize

CERTIFICATE_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"


def _zone(stack: cdk.Stack) -> route53.IHostedZone:
    return route53.HostedZone.from_hosted_zone_attributes(stack, "Zone", hosted_zone_id="Z0123456789", zone_name="example.com")


@pytest.fixture(scope="module")
def with_certificate() -> Template:
    def build(stack):
        metadata = ServerlessCrudApi(
            stack, "Metadata", resource_name="metadata", domain_name="api.example.com",
            certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN),
            disable_execute_api_endpoint=True,
        )
        ServerlessCrudApi(stack, "Feedback", resource_name="feedback", table=metadata.table, api=metadata.api)

    return synthesize(build)


@pytest.fixture(scope="module")
def with_zone() -> Template:
    return synthesize(lambda stack: ServerlessCrudApi(
        stack, "Metadata", resource_name="metadata", domain_name="api.example.com", hosted_zone=_zone(stack)
    ))


def test_the_domain_serves_tls_1_2_at_least_with_the_certificate_given(with_certificate):
    with_certificate.resource_count_is("AWS::ApiGateway::DomainName", 1)
    with_certificate.has_resource_properties("AWS::ApiGateway::DomainName", {
        "DomainName": "api.example.com",
        "RegionalCertificateArn": CERTIFICATE_ARN,
        "EndpointConfiguration": {"Types": ["REGIONAL"]},
        "SecurityPolicy": "TLS_1_2",
    })
    with_certificate.resource_count_is("AWS::CertificateManager::Certificate", 0)
    with_certificate.resource_count_is("AWS::Route53::RecordSet", 0)


def test_the_whole_shared_api_is_mapped_at_the_domains_root_so_each_services_paths_stay_as_they_are(with_certificate):
    (api,) = with_certificate.find_resources("AWS::ApiGateway::RestApi")
    (stage,) = with_certificate.find_resources("AWS::ApiGateway::Stage")
    (domain,) = with_certificate.find_resources("AWS::ApiGateway::DomainName")
    (mapping,) = with_certificate.find_resources("AWS::ApiGateway::BasePathMapping").values()
    assert mapping["Properties"]["RestApiId"] == {"Ref": api}
    assert mapping["Properties"]["Stage"] == {"Ref": stage}
    assert mapping["Properties"]["DomainName"] == {"Ref": domain}
    assert "BasePath" not in mapping["Properties"], "https://api.example.com/metadata and /feedback"


def test_the_execute_api_endpoint_can_be_switched_off(with_certificate, with_zone):
    with_certificate.has_resource_properties("AWS::ApiGateway::RestApi", {"DisableExecuteApiEndpoint": True})
    (api,) = with_zone.find_resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"].get("DisableExecuteApiEndpoint") in (None, False)


def test_the_stacks_output_is_the_domains_url_and_not_a_switched_off_one(with_certificate, with_zone):
    outputs = with_certificate.to_json()["Outputs"]
    assert [o["Value"] for o in outputs.values()] == ["https://api.example.com/"]
    assert len(with_zone.to_json()["Outputs"]) == 2, "the execute-api URL, and the domain's"


def test_with_a_zone_a_certificate_is_made_and_validated_there_and_the_name_points_at_the_domain(with_zone):
    zone_id = "Z0123456789"
    with_zone.has_resource_properties("AWS::CertificateManager::Certificate", {
        "DomainName": "api.example.com",
        "ValidationMethod": "DNS",
        "DomainValidationOptions": [{"DomainName": "api.example.com", "HostedZoneId": zone_id}],
    })
    (domain,) = with_zone.find_resources("AWS::ApiGateway::DomainName")
    with_zone.has_resource_properties("AWS::Route53::RecordSet", {
        "Name": "api.example.com.",
        "Type": "A",
        "HostedZoneId": zone_id,
        "AliasTarget": {
            "DNSName": {"Fn::GetAtt": [domain, "RegionalDomainName"]},
            "HostedZoneId": {"Fn::GetAtt": [domain, "RegionalHostedZoneId"]},
        },
    })
    with_zone.has_resource_properties("AWS::ApiGateway::DomainName", {
        "RegionalCertificateArn": {"Ref": Match.string_like_regexp("^MetadataCertificate")},
    })


def test_local_mode_reads_an_app_with_a_domain_and_serves_its_routes(with_certificate, tmp_path):
    from serverless_meta.local.template import read_app

    app = read_app({"TestStack": (with_certificate.to_json(), "eu-west-1")}, tmp_path)
    (api,) = app.apis
    assert set(api.resources) == {"/metadata", "/metadata/{id}", "/feedback", "/feedback/{id}"}


@pytest.mark.parametrize(("props", "prop", "expected"), [
    ({"domain_name": "api.example.com"}, "domain_name", "certificate or hosted_zone"),
    ({"certificate": "cert"}, "certificate", "left out unless domain_name"),
    ({"disable_execute_api_endpoint": True}, "disable_execute_api_endpoint", "left out unless domain_name"),
    ({"domain_name": "API.example.com", "hosted_zone": "zone"}, "domain_name", "a lower-case host name"),
    ({"domain_name": "*.example.com", "hosted_zone": "zone"}, "domain_name", "a lower-case host name"),
    ({"domain_name": "api.example.org", "hosted_zone": "zone"}, "domain_name", "a name in hosted_zone's example.com"),
])
def test_bad_domain_props_fail_synthesis(props, prop, expected):
    def build(stack):
        given = dict(props)
        if given.get("certificate") == "cert":
            given["certificate"] = acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN)
        if given.get("hosted_zone") == "zone":
            given["hosted_zone"] = _zone(stack)
        ServerlessCrudApi(stack, "Metadata", resource_name="metadata", **given)

    with pytest.raises(InvalidPropError, match=rf"{prop} must be .*{expected}"):
        synthesize(build)


def test_a_service_on_another_services_api_is_served_by_that_apis_domain():
    def build(stack):
        metadata = ServerlessCrudApi(stack, "Metadata", resource_name="metadata", domain_name="api.example.com",
                                     hosted_zone=_zone(stack))
        ServerlessCrudApi(stack, "Feedback", resource_name="feedback", api=metadata.api, domain_name="feedback.example.com",
                          certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN))

    with pytest.raises(InvalidPropError, match=r"domain_name must be left out with api="):
        synthesize(build)
