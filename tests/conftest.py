"""Test-wide settings: fake AWS credentials, a quiet local Powertools, and one botocore data loader."""

from __future__ import annotations

import functools
import os

import botocore.loaders
import botocore.session

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SECURITY_TOKEN", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ["AWS_REGION"] = "us-east-1"
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ClinicBookingTest")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

# Every test builds fresh clients, and pynamodb a fresh botocore session per connection; each session would parse
# botocore's service and endpoint JSON again (about 1.8 s of a functional test's 2.6 s set-up). The files are
# static, so all sessions share one loader (and its cache), as the clients of one session always do.
botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)
