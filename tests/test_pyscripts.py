"""Keyless rewrites of Python scripts (LibCST): before -> after, in memory, plus what is left alone."""

from __future__ import annotations

from textwrap import dedent

import pytest

from transforms.pyscripts import rewrite_boto3, rewrite_gcp_credentials


def src(text: str) -> str:
    return dedent(text).lstrip("\n")


BOTO3_CASES = {
    "client, one line": (
        """
        import os
        import boto3
        s3 = boto3.client("s3", aws_access_key_id=os.environ["KEY_ID"], aws_secret_access_key=os.environ["SECRET"])
        """,
        """
        import os
        import boto3
        s3 = boto3.client("s3")
        """,
    ),
    "multi-line call keeps its layout and trailing comma": (
        """
        import os
        import boto3

        s3 = boto3.client(
            "s3",
            aws_access_key_id=os.getenv("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=os.getenv("AWS_SECRET_ACCESS_KEY"),
            region_name="eu-west-1",  # Ireland
        )
        """,
        """
        import os
        import boto3

        s3 = boto3.client(
            "s3",
            region_name="eu-west-1",  # Ireland
        )
        """,
    ),
    "removed tail hands its closing layout to the last kept argument": (
        """
        import os
        import boto3

        ddb = boto3.resource(
            "dynamodb",
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
        )
        """,
        """
        import os
        import boto3

        ddb = boto3.resource(
            "dynamodb",
        )
        """,
    ),
    "Session with only keys, via from-import and module constants": (
        """
        from os import environ
        from boto3.session import Session

        KEY = environ["AWS_ACCESS_KEY_ID"]
        SECRET = environ["AWS_SECRET_ACCESS_KEY"]
        session = Session(aws_access_key_id=KEY, aws_secret_access_key=SECRET)
        bucket = session.resource("s3").Bucket("reports")
        """,
        """
        from os import environ
        from boto3.session import Session

        KEY = environ["AWS_ACCESS_KEY_ID"]
        SECRET = environ["AWS_SECRET_ACCESS_KEY"]
        session = Session()
        bucket = session.resource("s3").Bucket("reports")
        """,
    ),
    "a session's client": (
        """
        import os
        import boto3
        session = boto3.Session()
        sqs = session.client("sqs", aws_access_key_id=os.environ["K"], aws_secret_access_key=os.environ["S"])
        """,
        """
        import os
        import boto3
        session = boto3.Session()
        sqs = session.client("sqs")
        """,
    ),
}


@pytest.mark.parametrize("case", BOTO3_CASES, ids=list(BOTO3_CASES))
def test_rewrite_boto3(case: str) -> None:
    before, after = (src(t) for t in BOTO3_CASES[case])
    out, changes = rewrite_boto3(before)
    assert out == after
    assert changes and all(c.applied for c in changes)
    assert rewrite_boto3(out) == (out, [])  # idempotent


def test_boto3_hard_coded_keys_are_reported_not_rewritten() -> None:
    before = src("""
        import boto3
        s3 = boto3.client("s3", aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key=load_secret())
        """)
    out, changes = rewrite_boto3(before)
    assert out == before
    assert [(c.line, c.call, c.applied) for c in changes] == [(2, "boto3.client", False)]
    assert "not read from the environment" in changes[0].detail


def test_boto3_untouched_without_keys() -> None:
    before = src("""
        import boto3
        s3 = boto3.client("s3", region_name="us-east-1")
        other.client(aws_access_key_id=1) if False else None
        """)
    out, changes = rewrite_boto3(before)
    assert out == before
    assert [c.applied for c in changes] == [False]  # `other.client` with a literal key is reported


GCP_CASES = {
    "key from a secret-filled env var, with scopes": (
        """
        import json
        import os

        from google.cloud import storage
        from google.oauth2 import service_account

        credentials = service_account.Credentials.from_service_account_info(
            json.loads(os.environ["GCP_SA_KEY"]),
            scopes=["https://www.googleapis.com/auth/cloud-platform"],
        )
        client = storage.Client(credentials=credentials)
        """,
        """
        import json
        import os

        from google.cloud import storage
        import google.auth

        credentials = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-platform"],
        )[0]
        client = storage.Client(credentials=credentials)
        """,
    ),
    "key file, import kept while still used": (
        """
        import google.auth
        from google.oauth2 import service_account

        creds = service_account.Credentials.from_service_account_file("key.json")
        delegated = service_account.Credentials.from_service_account_file("key.json", subject="a@example.com")
        """,
        """
        import google.auth
        from google.oauth2 import service_account

        creds = google.auth.default()[0]
        delegated = service_account.Credentials.from_service_account_file("key.json", subject="a@example.com")
        """,
    ),
}


@pytest.mark.parametrize("case", GCP_CASES, ids=list(GCP_CASES))
def test_rewrite_gcp_credentials(case: str) -> None:
    before, after = (src(t) for t in GCP_CASES[case])
    out, changes = rewrite_gcp_credentials(before)
    assert out == after
    assert any(c.applied for c in changes)
    again, _ = rewrite_gcp_credentials(out)
    assert again == out


def test_gcp_domain_wide_delegation_is_reported() -> None:
    _, changes = rewrite_gcp_credentials(src(GCP_CASES["key file, import kept while still used"][0]))
    refused = [c for c in changes if not c.applied]
    assert [(c.line, c.call) for c in refused] == [(5, "Credentials.from_service_account_file")]
    assert "subject" in refused[0].detail
