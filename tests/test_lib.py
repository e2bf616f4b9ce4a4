"""The pure builders in lib/: checked without the Pulumi runtime, against AWS's own service definitions where
one exists (botocore's models ship with boto3)."""

from __future__ import annotations

import fnmatch

import botocore.session
import pytest

from lib.aws import AwsContext
from lib.iam import KEY_USE_ACTIONS, deny_insecure_transport, policy_document
from lib.k8s import pod_security_labels

COMMERCIAL = AwsContext(account_id="123456789012", partition="aws", region="eu-west-1")
GOVCLOUD = AwsContext(account_id="123456789012", partition="aws-us-gov", region="us-gov-west-1")
CHINA = AwsContext(account_id="123456789012", partition="aws-cn", region="cn-north-1", dns_suffix="amazonaws.com.cn")


def test_key_use_actions_each_name_real_kms_operations() -> None:
    operations = botocore.session.get_session().get_service_model("kms").operation_names
    for action in KEY_USE_ACTIONS:
        service, pattern = action.split(":")
        assert service == "kms"
        assert fnmatch.filter(operations, pattern), f"{action} matches no KMS operation"
    # Use, never administration: no key deletion, policy or grant management.
    assert not any(fnmatch.fnmatch(op, a.split(":")[1]) for a in KEY_USE_ACTIONS for op in
                   ("ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant", "DisableKey"))  # fmt: skip


@pytest.mark.parametrize(
    ("ctx", "expected"),
    [
        (COMMERCIAL, "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"),
        (GOVCLOUD, "arn:aws-us-gov:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"),
        (CHINA, "arn:aws-cn:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"),
    ],
)
def test_managed_policy_arns_are_in_the_deployment_partition(ctx: AwsContext, expected: str) -> None:
    assert ctx.managed_policy_arn("service-role/AmazonEBSCSIDriverPolicy") == expected


def test_vpc_endpoint_service_names_per_partition() -> None:
    assert COMMERCIAL.vpc_endpoint_service("ecr.dkr") == "com.amazonaws.eu-west-1.ecr.dkr"
    assert CHINA.vpc_endpoint_service("ecr.dkr") == "cn.com.amazonaws.cn-north-1.ecr.dkr"
    assert CHINA.vpc_endpoint_service("secretsmanager") == "com.amazonaws.cn-north-1.secretsmanager"
    assert CHINA.vpc_endpoint_service("s3", gateway=True) == "com.amazonaws.cn-north-1.s3"
    assert CHINA.vpc_endpoint_service("s3") == "cn.com.amazonaws.cn-north-1.s3"


def test_deny_insecure_transport_denies_everyone_without_tls() -> None:
    statement = deny_insecure_transport("sqs:*", "arn:aws:sqs:eu-west-1:123456789012:q", sid="DenyHTTP")
    assert statement == {
        "Sid": "DenyHTTP",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": "arn:aws:sqs:eu-west-1:123456789012:q",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    bucket = deny_insecure_transport("s3:*", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], sid="DenyInsecureTransport")
    assert bucket["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    assert policy_document([bucket]) == {"Version": "2012-10-17", "Statement": [bucket]}


def test_pod_security_labels_pin_every_mode_to_the_cluster_version() -> None:
    labels = pod_security_labels("1.34")
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.34"
    assert pod_security_labels("1.35", "baseline")["pod-security.kubernetes.io/enforce"] == "baseline"
