"""The offline engine itself: what it records, secret masking, and refusing invokes it cannot answer."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from lib.tagging import tagging_transformation
from ops.engine import SECRET, run_program

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
