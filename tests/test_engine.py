"""The offline engine itself: what it records, secret masking, and refusing invokes it cannot answer."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from lib.tagging import tagging_transformation
from ops.engine import SECRET, UNKNOWN, run_program

RAW = {"aws:region": "eu-west-1"}


def test_unknown_invoke_is_an_error_not_a_silent_empty_answer() -> None:
    with pytest.raises(Exception, match="no answer for invoke aws:ec2/getAmi:getAmi"):
        run_program("dev", RAW, program=lambda: aws.ec2.get_ami(most_recent=True, owners=["amazon"]))


def test_records_request_options_and_masks_secrets() -> None:
    def program() -> None:
        key = aws.kms.Key("key", description="k", opts=pulumi.ResourceOptions(protect=True, retain_on_delete=True))
        aws.ssm.Parameter(
            "param", type="SecureString", value=pulumi.Output.secret("hunter2"), key_id=key.arn,
            opts=pulumi.ResourceOptions(ignore_changes=["value"]),
        )  # fmt: skip

    plan = run_program("dev", RAW, program)
    key, param = plan.by_name("key"), plan.by_name("param")
    assert key.protect
    assert key.retainOnDelete
    assert param.inputs["value"] == SECRET
    assert "hunter2" not in str(plan.to_json())
    assert key.urn in param.dependencies
    assert param.ignoreChanges == ["value"]
    assert plan.provider_of(param) is None  # default provider: no explicit reference


def test_invokes_answer_for_the_provider_region() -> None:
    seen: dict[str, list[str]] = {}

    def program() -> None:
        provider = aws.Provider("west", region="us-west-2")
        zones = aws.get_availability_zones(opts=pulumi.InvokeOptions(provider=provider))
        seen["names"] = zones.names

    run_program("dev", RAW, program)
    assert seen["names"][0].startswith("us-west-2")


def test_tagging_keeps_own_tags_but_mandatory_keys_win() -> None:
    class Holder(pulumi.ComponentResource):
        area = "storage"

        def __init__(self) -> None:
            tagging = pulumi.ResourceOptions(transformations=[tagging_transformation({"environment": "dev"})])
            super().__init__("test:x:Holder", "holder", None, tagging)
            aws.s3.Bucket("b", tags={"Name": "b", "environment": "prod"}, opts=pulumi.ResourceOptions(parent=self))
            aws.iam.RolePolicy("p", role="r", policy="{}", opts=pulumi.ResourceOptions(parent=self))

    plan = run_program("dev", RAW, Holder)
    assert plan.by_name("b").inputs["tags"] == {"Name": "b", "environment": "dev", "component": "storage"}
    assert "tags" not in plan.by_name("p").inputs  # RolePolicy has no tags: left alone


def test_preview_leaves_outputs_of_resources_to_create_unknown_but_echoes_their_inputs() -> None:
    """As in a stack's first `pulumi preview`: an ARN or id AWS assigns at creation is unknown, so is every input
    built from it; a value the program set itself (a bucket's name) is known, and lookups still answer."""
    seen: dict[str, list[str]] = {}

    def program() -> None:
        key = aws.kms.Key("key", description="k")
        aws.kms.Alias("alias", name="alias/k", target_key_id=key.key_id)
        bucket = aws.s3.Bucket("bucket", bucket="my-bucket")
        aws.s3.BucketPolicy("policy", bucket=bucket.bucket, policy=bucket.arn.apply(lambda arn: f'{{"r": "{arn}"}}'))
        aws.ssm.Parameter("param", type="SecureString", value=pulumi.Output.secret(key.arn))
        seen["zones"] = aws.get_availability_zones().names
        pulumi.export("bucket_name", bucket.bucket)
        pulumi.export("key_arn", key.arn)

    preview = run_program("dev", RAW, program, preview=True)
    assert preview.preview
    assert preview.by_name("alias").inputs["targetKeyId"] == UNKNOWN
    assert preview.by_name("policy").inputs == {"bucket": "my-bucket", "policy": UNKNOWN}
    assert preview.by_name("param").inputs["value"] == SECRET
    assert preview.outputs == {"bucket_name": "my-bucket", "key_arn": UNKNOWN}
    assert seen["zones"][0] == "eu-west-1a"

    deployed = run_program("dev", RAW, program)
    assert deployed.by_name("alias").inputs["targetKeyId"] == "key-key-id"
    assert deployed.by_name("policy").inputs["policy"] == '{"r": "arn:aws:s3:::my-bucket"}'
    assert deployed.outputs["key_arn"].startswith("arn:aws:kms:eu-west-1:")
