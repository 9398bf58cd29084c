"""template.yaml's FHIR system clients: the integrations pool's resource server defines exactly the SMART v2 system
scopes the app knows, the example integration's app client uses client credentials only, and the API trusts client
tokens from that pool alone."""

from __future__ import annotations

from pathlib import Path

from cfnlint.decode.cfn_yaml import load

from chalicelib.domain.smart import SYSTEM_SCOPES, parse_scope

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load(str(ROOT / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]


def test_the_resource_server_defines_exactly_the_apps_system_scopes():
    server = RESOURCES["FhirResourceServer"]["Properties"]
    assert server["UserPoolId"] == {"Ref": "IntegrationsUserPool"}
    assert server["Identifier"] == "system"
    defined = {f"{server['Identifier']}/{scope['ScopeName']}" for scope in server["Scopes"]}
    assert defined == set(SYSTEM_SCOPES)


def test_the_integration_client_uses_client_credentials_with_system_scopes_only():
    client = RESOURCES["IntegrationClient"]
    props = client["Properties"]
    assert client["DependsOn"] == "FhirResourceServer"  # its scopes must exist first
    assert props["UserPoolId"] == {"Ref": "IntegrationsUserPool"}
    assert props["AllowedOAuthFlows"] == ["client_credentials"] and props["AllowedOAuthFlowsUserPoolClient"]
    assert props["GenerateSecret"] is True
    assert set(props["AllowedOAuthScopes"]) <= set(SYSTEM_SCOPES)
    assert all(parse_scope(s) is not None for s in props["AllowedOAuthScopes"])
    assert "${IntegrationName}" in props["ClientName"]["Fn::Sub"]
    assert "IntegrationName" in TEMPLATE["Parameters"]


def test_the_integrations_pool_has_no_people_and_the_api_trusts_its_client_tokens_alone():
    pool = RESOURCES["IntegrationsUserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}
    assert RESOURCES["IntegrationsDomain"]["Properties"]["UserPoolId"] == {"Ref": "IntegrationsUserPool"}
    env = RESOURCES["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["SYSTEM_CLIENT_ISSUER"] == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${IntegrationsUserPool}"
    }
    assert env["SYSTEM_TOKEN_URL"] == {
        "Fn::Sub": "https://${IntegrationsDomain}.auth.${AWS::Region}.amazoncognito.com/oauth2/token"
    }
