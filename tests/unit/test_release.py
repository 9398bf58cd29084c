"""`make package`'s last step (infra/release.py): the release stamped into the zip, the REST routes on `live`."""

from __future__ import annotations

import zipfile

import pytest

from infra.release import ALIASED, UNALIASED, VERSION_MODULE, clean_version, release


def package(tmp_path, routes: int = 2):
    dist = tmp_path / "dist"
    dist.mkdir()
    with zipfile.ZipFile(dist / "deployment.zip", "w") as code:
        code.writestr("app.py", "app = None\n")
        code.writestr(VERSION_MODULE, 'VERSION = "old"\n')  # stamped before: replaced, not doubled
    uri = f"Fn::Sub: arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31{UNALIASED}\n"
    (dist / "sam.yaml").write_text("Resources:\n" + uri * routes)
    return dist


@pytest.mark.parametrize(
    ("described", "stamped"),
    [
        ("v1.4.0-3-gabc1234\n", "v1.4.0-3-gabc1234"),
        ("abc1234-dirty", "abc1234-dirty"),
        ("", "dev"),
        ('v1"; import os #', "dev"),  # nothing but a tag-like word is written into code
        ("-flag", "dev"),
    ],
)
def test_the_version_is_git_describe_or_dev(described, stamped):
    assert clean_version(described) == stamped


def test_the_zip_names_its_release_once_and_every_rest_route_invokes_the_alias(tmp_path):
    # GIVEN what chalice package wrote WHEN the release step runs
    dist = package(tmp_path, routes=3)
    assert release(dist, "v2.0.0") == "v2.0.0"
    # THEN the zip holds one version module with the release, beside the code
    names = zipfile.ZipFile(dist / "deployment.zip").namelist()
    assert sorted(names) == ["app.py", VERSION_MODULE]
    assert 'VERSION = "v2.0.0"' in zipfile.ZipFile(dist / "deployment.zip").read(VERSION_MODULE).decode()
    # AND no route is left on $LATEST
    template = (dist / "sam.yaml").read_text()
    assert template.count(ALIASED) == 3 and UNALIASED not in template


def test_a_template_without_rest_routes_is_refused(tmp_path):
    # GIVEN a template whose routes Chalice wrote some other way THEN packaging stops rather than ship $LATEST
    dist = package(tmp_path, routes=0)
    with pytest.raises(SystemExit, match="no REST route"):
        release(dist, "v2.0.0")


CHALICE_AUTHORIZER_PERMISSION = """  FhirAuthorizerInvokePermission:
    Properties:
      Action: lambda:InvokeFunction
      FunctionName:
        Fn::GetAtt:
        - FhirAuthorizer
        - Arn
      Principal: apigateway.amazonaws.com
  OtherPermission:
    Properties:
      FunctionName:
        Fn::GetAtt:
        - Other
        - Arn
"""


def test_the_permission_chalice_writes_for_an_authorizer_names_its_alias(tmp_path):
    # GIVEN the permission Chalice writes for the FHIR routes' Lambda authorizer (its function's plain ARN)
    dist = package(tmp_path)
    sam = dist / "sam.yaml"
    sam.write_text(sam.read_text() + CHALICE_AUTHORIZER_PERMISSION)
    # WHEN the release step runs
    release(dist, "v2.0.0")
    # THEN API Gateway may invoke the authorizer's `live` alias, never $LATEST; other resources are left alone
    template = sam.read_text()
    assert "      FunctionName:\n        Ref: FhirAuthorizer.Alias\n      Principal:" in template
    assert "- FhirAuthorizer\n" not in template and "- Other\n        - Arn\n" in template
