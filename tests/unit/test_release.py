"""`make package`'s last step (infra/release.py): the release stamped into the zip, the REST routes on `live`."""

from __future__ import annotations

import importlib.util
import marshal
import sys
import zipfile

import pytest

from infra.release import (
    ALIASED,
    UNALIASED,
    VERSION_MODULE,
    clean_version,
    ready_for_the_runtime,
    release,
    stamp_version,
)


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


def runtime_package(tmp_path, runtime: str):
    dist = package(tmp_path)
    sam = dist / "sam.yaml"
    sam.write_text(sam.read_text() + f"  Fn:\n    Properties:\n      Runtime: {runtime}\n")
    with zipfile.ZipFile(dist / "deployment.zip", "a") as code:
        code.writestr("botocore/__init__.py", "__version__ = '1.0'\n")
        code.writestr("botocore-1.44.18.dist-info/METADATA", "Name: botocore\n")
        code.writestr("botocore_extras/__init__.py", "")  # only botocore itself is the runtime's
        code.writestr("chalicelib/__init__.py", "")
        code.writestr("chalicelib/templates/broken.py", "def {{ name }}(:\n")
    return dist


def loaded(pyc: bytes) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(marshal.loads(pyc[16:]), namespace)  # noqa: S102, S302 - the bytecode this test's release step wrote
    return namespace


def test_botocore_is_left_to_the_runtime_and_every_module_has_unchecked_bytecode(tmp_path):
    # GIVEN what chalice package wrote for functions that run this interpreter's Python
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    dist = runtime_package(tmp_path, here)
    # WHEN the release step runs
    release(dist, "v2.0.0")
    # THEN botocore and its metadata are gone, everything else stays
    names = set(zipfile.ZipFile(dist / "deployment.zip").namelist())
    assert not [n for n in names if n.startswith(("botocore/", "botocore-"))]
    assert {"app.py", "botocore_extras/__init__.py", "chalicelib/templates/broken.py", VERSION_MODULE} <= names
    # AND each Python module has its bytecode beside it, hash-based and never checked against the source
    code = zipfile.ZipFile(dist / "deployment.zip")
    for source in ("app.py", "chalicelib/__init__.py", VERSION_MODULE, "botocore_extras/__init__.py"):
        pyc = code.read(importlib.util.cache_from_source(source))
        assert pyc[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(pyc[4:8], "little") == 0b01
        assert pyc[8:16] == importlib.util.source_hash(code.read(source))
    # AND a file that is not Python is shipped as it is, without bytecode
    assert importlib.util.cache_from_source("chalicelib/templates/broken.py") not in names
    # AND the stamped release's bytecode is the stamped release, also when the zip is stamped and readied again
    stamp_version(dist / "deployment.zip", "v2.0.1")
    ready_for_the_runtime(dist / "deployment.zip", sys.version_info[:2])
    stamped = zipfile.ZipFile(dist / "deployment.zip").read(importlib.util.cache_from_source(VERSION_MODULE))
    assert loaded(stamped)["VERSION"] == "v2.0.1"
    names_again = zipfile.ZipFile(dist / "deployment.zip").namelist()
    assert len(names_again) == len(set(names_again))


def test_no_bytecode_is_written_for_another_python_than_the_runtimes(tmp_path):
    # GIVEN functions on a Python other than this interpreter's
    dist = runtime_package(tmp_path, "python3.99")
    # WHEN the release step runs THEN botocore still goes, and no .pyc Lambda would ignore is added
    release(dist, "v2.0.0")
    names = zipfile.ZipFile(dist / "deployment.zip").namelist()
    assert not [n for n in names if n.endswith(".pyc") or n.startswith("botocore/")]
