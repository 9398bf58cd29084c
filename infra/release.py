"""The last step of `make package`: stamps the release into the code and points the REST API at the `live` alias.

    python -m infra.release dist/prod --version "$(git describe --always --dirty)"

- The code zip gets `chalicelib/_version.py` (`VERSION = "..."`), which /health, the logs and the metrics report
  (chalicelib/observability.py); it is never in the working tree, so a checkout is the "dev" release.
- Chalice writes every REST route's integration as the function's plain ARN (`${APIHandler.Arn}`, i.e. $LATEST),
  which template.yaml cannot override route by route: here each becomes `${APIHandlerAliaslive}`, the alias SAM's
  `AutoPublishAlias` publishes and CodeDeploy shifts. Likewise the permission Chalice writes for a Lambda
  authorizer (the FHIR routes') names its function by `Fn::GetAtt` (which a merged `Ref` cannot replace): it
  becomes the function's alias too. Everything else is on the alias in template.yaml itself.
- botocore leaves the zip: pynamodb pulls in a copy of its own (a third of the zip), while boto3 comes from the
  Lambda runtime (requirements.txt packages neither); the runtime's boto3 and botocore are a tested pair, ours
  mixed with theirs was not. Every module left gets its bytecode (unchecked-hash .pyc for the runtime's Python,
  PEP 552): /var/task is read-only, so without it each cold start compiled every module it imported (measured
  from the unpacked zip: `import app` 1.2 s from source, 0.5 s with the bytecode; `make bench`, package)."""

from __future__ import annotations

import argparse
import importlib.util
import marshal
import re
import sys
import warnings
import zipfile
from pathlib import Path

VERSION_MODULE = "chalicelib/_version.py"
UNALIASED = "/functions/${APIHandler.Arn}/invocations"
ALIASED = "/functions/${APIHandlerAliaslive}/invocations"  # the alias SAM names <function>Alias<name>
AUTHORIZER_PERMISSION = re.compile(
    r"^(  (\w+)InvokePermission:\n(?:    .*\n)*?      FunctionName:\n)"
    r"        Fn::GetAtt:\n        - (\w+)\n        - Arn\n",
    re.MULTILINE,
)
"""A permission Chalice writes for an authorizer function: `<Function>InvokePermission` naming `<Function>.Arn`."""
SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")
LEFT_TO_THE_RUNTIME = re.compile(r"^botocore(/|-[^/]*\.dist-info/)")
"""Entries the Lambda runtime provides: botocore's package and its metadata (boto3 is not packaged at all)."""
RUNTIME = re.compile(r"^\s+Runtime: python(\d+)\.(\d+)\s*$", re.MULTILINE)
UNCHECKED_HASH = 0b01
"""PEP 552 flags: a hash-based .pyc whose source is never checked (the package's files never change)."""


def clean_version(version: str) -> str:
    """`git describe`'s output as is; "dev" when there is none or it is not a plain tag-like word."""
    version = version.strip()
    return version if SAFE.fullmatch(version) else "dev"


def stamp_version(package: Path, version: str) -> None:
    """Writes the version module into the code zip (replacing one stamped before)."""
    source = f'"""Written by `make package` (infra/release.py); not in the repository."""\n\nVERSION = "{version}"\n'
    with zipfile.ZipFile(package) as old:
        entries = [(info, old.read(info)) for info in old.infolist() if info.filename != VERSION_MODULE]
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as new:
        for info, data in entries:
            new.writestr(info, data)
        module = zipfile.ZipInfo(VERSION_MODULE, date_time=(2020, 1, 1, 0, 0, 0))
        module.external_attr = 0o644 << 16
        new.writestr(module, source, zipfile.ZIP_DEFLATED)


def bytecode(source: bytes, name: str) -> bytes | None:
    """The .pyc of a module's source as the import system writes it, hash-based and unchecked; None when the
    file is not Python this interpreter compiles (a template or another version's file in a library)."""
    try:
        with warnings.catch_warnings():  # a library's invalid escape sequence is its own affair, not the release's
            warnings.simplefilter("ignore")
            code = compile(source, name, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError):
        return None
    header = importlib.util.MAGIC_NUMBER + UNCHECKED_HASH.to_bytes(4, "little") + importlib.util.source_hash(source)
    return header + marshal.dumps(code)


def runtime_version(template: Path) -> tuple[int, int] | None:
    """The Python version the functions run (their `Runtime: pythonX.Y`), when the template names one."""
    found = RUNTIME.search(template.read_text())
    return (int(found.group(1)), int(found.group(2))) if found else None


def ready_for_the_runtime(package: Path, runtime: tuple[int, int] | None) -> dict[str, int]:
    """Drops what the runtime provides (botocore) and adds each module's bytecode, when this interpreter is the
    runtime's version (a .pyc of another version would be ignored by Lambda's Python: none is written)."""
    compile_here = runtime == sys.version_info[:2]
    with zipfile.ZipFile(package) as old:
        entries = [(info, old.read(info)) for info in old.infolist()]
    # bytecode already in the zip for one of its sources is written afresh (a stamped module changes)
    stale = {importlib.util.cache_from_source(i.filename) for i, _ in entries if i.filename.endswith(".py")}
    dropped = compiled = 0
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as new:
        for info, data in entries:
            if LEFT_TO_THE_RUNTIME.match(info.filename):
                dropped += 1
                continue
            if compile_here and info.filename in stale:
                continue
            new.writestr(info, data)
            if not compile_here or not info.filename.endswith(".py"):
                continue
            target = importlib.util.cache_from_source(info.filename)
            pyc = bytecode(data, info.filename)
            if pyc is not None:
                entry = zipfile.ZipInfo(target, date_time=info.date_time)
                entry.external_attr = 0o644 << 16
                new.writestr(entry, pyc, zipfile.ZIP_DEFLATED)
                compiled += 1
    return {"dropped": dropped, "compiled": compiled}


def route_api_to_alias(template: Path) -> int:
    """Rewrites the REST routes' integrations to the alias; how many there were. None left unaliased."""
    text = template.read_text()
    routes = text.count(UNALIASED)
    template.write_text(text.replace(UNALIASED, ALIASED))
    return routes


def authorizers_to_alias(template: Path) -> int:
    """Points the permissions of Chalice's authorizer functions at their aliases; how many there were."""

    def aliased(match: re.Match[str]) -> str:
        if match.group(2) != match.group(3):
            return match.group(0)
        return f"{match.group(1)}        Ref: {match.group(3)}.Alias\n"

    text = template.read_text()
    rewritten, count = AUTHORIZER_PERMISSION.subn(aliased, text)
    template.write_text(rewritten)
    return count


def release(dist: Path, version: str) -> str:
    version = release_code(dist, version)
    release_template(dist)
    return version


def release_code(dist: Path, version: str) -> str:
    """The code zip's part: the version stamped, botocore dropped, bytecode added (the costly part: the zip is
    rewritten twice). The stages' zips are the same file, so its result is the same for each."""
    version = clean_version(version)
    stamp_version(dist / "deployment.zip", version)
    ready_for_the_runtime(dist / "deployment.zip", runtime_version(dist / "sam.yaml"))
    return version


def release_template(dist: Path) -> None:
    """The template's part: REST routes and authorizer permissions on the `live` alias."""
    if route_api_to_alias(dist / "sam.yaml") == 0:
        raise SystemExit(f"{dist / 'sam.yaml'}: no REST route found to point at the alias")
    authorizers_to_alias(dist / "sam.yaml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dist", type=Path, help="the directory `chalice package` wrote (sam.yaml, deployment.zip)")
    parser.add_argument("--version", default="dev", help="the release, e.g. `git describe --always --dirty`")
    args = parser.parse_args()
    version = release(args.dist, args.version)
    print(f"{args.dist}: release {version}, REST routes on the live alias")


if __name__ == "__main__":
    main()
