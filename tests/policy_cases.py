"""Per-rule cases for tests/test_policy_rules.py: for every rule, a compliant input, a violating one (with a
fragment of the expected message) and one holding a value unknown during preview.

A resource-rule input is `(resource_type, props)`; a stack-rule input is a list of `res(...)` specs joined by
name through `deps`. Props use the engine's camelCase names; unknowns use the SDK's sentinels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE as UA,
)
from pulumi_policy.proxy import (
    UNKNOWN_BOOLEAN_VALUE as UB,
)
from pulumi_policy.proxy import (
    UNKNOWN_NUMBER_VALUE as UN,
)
from pulumi_policy.proxy import (
    UNKNOWN_OBJECT_VALUE as UO,
)
from pulumi_policy.proxy import (
    UNKNOWN_STRING_VALUE as US,
)

from tests.aws_api_cases import AWS_API_CASES

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd"
TAGS = {
    "project": "ai-platform",
    "stack": "prod",
    "environment": "prod",
    "component": "storage",
    "managed-by": "pulumi",
}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def res(
    type_: str,
    name: str,
    props: dict[str, Any] | None = None,
    deps: tuple[str, ...] = (),
    protect: bool = False,
    urn: str | None = None,
) -> dict[str, Any]:
    """A stack-rule resource spec; `urn` (default: a top-level program resource) says who created it."""
    return {"type": type_, "name": name, "props": props or {}, "deps": deps, "protect": protect, "urn": urn}


# Realistic URNs of a real preview: the whole parent-type chain, as the engine writes it.
PLATFORM_URN = "urn:pulumi:prod::ai-platform::ai-platform:platform:Platform"


def chart_urn(type_: str, chart: str, namespace: str, name: str) -> str:
    """The URN of an object a `kubernetes.helm.v4.Chart` of the addons component renders (`<chart>:<ns>/<name>`)."""
    chain = f"ai-platform:addons:Addons$kubernetes:helm.sh/v4:Chart${type_}"
    return f"{PLATFORM_URN}${chain}::{chart}:{namespace}/{name}"


def eks_urn(type_: str, name: str, *parents: str) -> str:
    """The URN of a resource pulumi-eks creates inside the cluster component's `eks:index:Cluster`."""
    chain = "$".join(["ai-platform:cluster:Cluster", "eks:index:Cluster", *parents, type_])
    return f"{PLATFORM_URN}${chain}::prod-cluster-eks-{name}"


# --- disaster recovery shapes -------------------------------------------------------------------------------------

DR_PLAN = "aws:backup/plan:Plan"
DR_VAULT_ARN = "arn:aws:backup:us-west-2:123456789012:backup-vault:prod-dr-vault"
REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
S3_TLS_POLICY = doc(
    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
)  # fmt: skip


def _protected_bucket(name: str, *, locked: bool) -> list[dict[str, Any]]:
    """A bucket with versioning, SSE-KMS, the public access block, a TLS-only policy (and Object Lock), protected."""
    specs = [
        res(BUCKET, name, {"bucket": name, "objectLockEnabled": True if locked else None}, protect=True),
        res("aws:s3/bucketVersioning:BucketVersioning", f"{name}-v", {"versioningConfiguration": {"status": "Enabled"}},
            deps=(name,)),
        res(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", f"{name}-e",
            {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}}]},
            deps=(name,),
        ),
        res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{name}-p",
            {f: True for f in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")},
            deps=(name,)),
        res("aws:s3/bucketPolicy:BucketPolicy", f"{name}-tls", {"policy": S3_TLS_POLICY}, deps=(name,)),
    ]  # fmt: skip
    return specs


def _replication(source: str, replica: str) -> dict[str, Any]:
    rule = {
        "status": "Enabled",
        "destination": {"bucket": "arn", "encryptionConfiguration": {"replicaKmsKeyId": KEY_ARN}},
    }
    return res(REPLICATION, "r", {"bucket": source, "rules": [rule]}, deps=(source, replica))


@dataclass(frozen=True)
class Case:
    good: Any
    bad: Any
    message: str
    unknown: Any
    extra_good: tuple[Any, ...] = field(default=())


# --- shared shapes ----------------------------------------------------------------------------------------------

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SNS_TLS_POLICY = doc(
    {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "SNS:Publish",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
)

BUCKET = "aws:s3/bucket:Bucket"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SET_WEB_ACL = "elasticloadbalancing:SetWebAcl"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
KMS_KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
EKS = "eks:index:Cluster"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
VPC = "aws:ec2/vpc:Vpc"
ROOT_POLICY = doc(
    {
        "Sid": "Root",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
)
GOOD_KEY = {
    "enableKeyRotation": True,
    "rotationPeriodInDays": 365,
    "deletionWindowInDays": 30,
    "bypassPolicyLockoutSafetyCheck": False,
    "policy": ROOT_POLICY,
}
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
IRSA_TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:ai:api", f"{ISSUER}:aud": "sts.amazonaws.com"}
        },
    }
)
GOOD_CONTAINER = {
    "name": "api",
    "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ai-api:1.4.2",
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    },
    "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
    "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
    "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
}


def deployment(
    container: dict[str, Any] | None = None, pod: dict[str, Any] | None = None, **metadata: Any
) -> dict[str, Any]:
    spec = {"containers": [container if container is not None else GOOD_CONTAINER], **(pod or {})}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "ai", **metadata},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}}, "spec": spec},
        },
    }


def single_replica(manifest: dict[str, Any]) -> dict[str, Any]:
    return {**manifest, "spec": {**manifest["spec"], "replicas": 1}}


def container(**changes: Any) -> dict[str, Any]:
    return {**GOOD_CONTAINER, **changes}


def context(**changes: Any) -> dict[str, Any]:
    return container(securityContext={**GOOD_CONTAINER["securityContext"], **changes})


def k8s(props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (DEPLOYMENT, props)


SSE_KMS = {
    "rules": [
        {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
            "bucketKeyEnabled": True,
        }
    ]
}
TLS_POLICY = doc(
    {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
)
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ALL_BLOCKED = {
    "blockPublicAcls": True,
    "blockPublicPolicy": True,
    "ignorePublicAcls": True,
    "restrictPublicBuckets": True,
}
MANAGED = [
    {
        "name": "common",
        "priority": 1,
        "overrideAction": {"none": {}},
        "statement": {"managedRuleGroupStatement": {"vendorName": "AWS", "name": "AWSManagedRulesCommonRuleSet"}},
    },
    {
        "name": "bad-inputs",
        "priority": 2,
        "overrideAction": {"none": {}},
        "statement": {
            "managedRuleGroupStatement": {"vendorName": "AWS", "name": "AWSManagedRulesKnownBadInputsRuleSet"}
        },
    },
]
BOOTSTRAP = {"ai-platform/public-endpoint": "bootstrap"}
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
API_INGRESS = {"type": "ingress", "protocol": "tcp", "fromPort": 443, "toPort": 443, "securityGroupId": "sg-cluster"}
INTERNET_FACING = {"alb.ingress.kubernetes.io/scheme": "internet-facing"}
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"


def ingress(annotations: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "api", "namespace": "ai", "annotations": annotations},
        "spec": {"ingressClassName": "alb"},
    }


CASES: dict[str, Case] = {
    # --- backup
    "backup-vault-cmk": Case(
        ("aws:backup/vault:Vault", {"kmsKeyArn": KEY_ARN}),
        ("aws:backup/vault:Vault", {}),
        "kmsKeyArn is not set",
        ("aws:backup/vault:Vault", {"kmsKeyArn": US}),
    ),
    "backup-plan-retention": Case(
        (
            "aws:backup/plan:Plan",
            {
                "rules": [
                    {"ruleName": "hourly", "lifecycle": {"deleteAfter": 2}},
                    {"ruleName": "daily", "lifecycle": {"deleteAfter": 35}},
                ]
            },
        ),
        ("aws:backup/plan:Plan", {"rules": [{"ruleName": "daily", "lifecycle": {"deleteAfter": 7}}]}),
        "keeps recovery points 7 days; at least 35",
        ("aws:backup/plan:Plan", {"rules": [{"ruleName": "daily", "lifecycle": {"deleteAfter": UN}}]}),
    ),
    "backup-stateful-covered": Case(
        [res(CLUSTER, "db"), res("aws:backup/selection:Selection", "sel", {"resources": ["arn"]}, deps=("db",))],
        [res(CLUSTER, "db"), res("aws:backup/selection:Selection", "sel", {"resources": []})],
        "Cluster db is in no backup selection",
        [
            res(CLUSTER, "db", {"arn": US}),
            res("aws:backup/selection:Selection", "sel", {"resources": ["arn:aws:rds:*:*:cluster:*"]}),
        ],
    ),
    "backup-vault-lock": Case(
        [
            res("aws:backup/vault:Vault", "v"),
            res("aws:backup/vaultLockConfiguration:VaultLockConfiguration", "l", deps=("v",)),
        ],
        [res("aws:backup/vault:Vault", "v")],
        "vault v has no vault lock",
        [
            res("aws:backup/vault:Vault", "v", {"name": US}),
            res("aws:backup/vaultLockConfiguration:VaultLockConfiguration", "l", {"backupVaultName": US}, deps=("v",)),
        ],
    ),
    "backup-plan-present": Case(
        [
            res(CLUSTER, "db"),
            res("aws:backup/plan:Plan", "p"),
            res("aws:backup/selection:Selection", "s", deps=("p", "db")),
        ],
        [res(CLUSTER, "db")],
        "no backup plan with a selection",
        [res(BUCKET, "b", {"tags": UO})],
    ),
    # --- disaster recovery
    "dr-backup-copies": Case(
        [res(DR_PLAN, "p", {"rules": [{"ruleName": "daily", "copyActions": [{"destinationVaultArn": DR_VAULT_ARN}]}]})],
        [res(DR_PLAN, "p", {"rules": [{"ruleName": "daily", "lifecycle": {"deleteAfter": 35}}]})],
        "backup plan p copies no recovery point into another region's vault",
        [res(DR_PLAN, "p", {"rules": [{"ruleName": "daily", "copyActions": [{"destinationVaultArn": US}]}]})],
    ),
    "dr-bucket-replication": Case(
        [
            res(BUCKET, "src", {"bucket": "src"}),
            res(REPLICATION, "r", {"bucket": "src", "rules": [{"status": "Enabled"}]}, deps=("src",)),
        ],
        [res(BUCKET, "src", {"bucket": "src"})],
        "bucket src is not replicated to another region",
        [res(BUCKET, "src", {"bucket": US}), res(REPLICATION, "r", {"bucket": US, "rules": UA}, deps=("src",))],
        extra_good=([res(BUCKET, "logs", {"bucket": "logs", "tags": {"ai-platform/log-delivery": "true"}})],),
    ),
    "dr-replica-protected": Case(
        [*_protected_bucket("src", locked=True), *_protected_bucket("dst", locked=True), _replication("src", "dst")],
        [*_protected_bucket("src", locked=True), *_protected_bucket("dst", locked=False), _replication("src", "dst")],
        "replica dst of src lacks Object Lock",
        [*_protected_bucket("src", locked=True), res(BUCKET, "dst", {"bucket": US}), _replication("src", "dst")],
    ),
    "dr-secondary-protected": Case(
        [
            res(
                CLUSTER,
                "s",
                {
                    "globalClusterIdentifier": "g",
                    "storageEncrypted": True,
                    "kmsKeyId": KEY_ARN,
                    "deletionProtection": True,
                },
            )
        ],
        [res(CLUSTER, "s", {"globalClusterIdentifier": "g", "storageEncrypted": True, "kmsKeyId": KEY_ARN})],
        "global secondary s has no deletion protection",
        [
            res(
                CLUSTER,
                "s",
                {
                    "globalClusterIdentifier": "g",
                    "storageEncrypted": UB,
                    "kmsKeyId": KEY_ARN,
                    "deletionProtection": True,
                },
            )
        ],
        extra_good=([res(CLUSTER, "primary", {"storageEncrypted": True})],),
    ),
    # --- compute
    "eks-endpoint-not-public": Case(
        (EKS, {"endpointPublicAccess": False, "endpointPrivateAccess": True}),
        # a permanent public endpoint, even to an allow-list
        (EKS, {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"], "tags": TAGS}),
        "the API endpoint is permanently public (publicAccessCidrs ['198.51.100.0/24']",
        (EKS, {"endpointPublicAccess": UB}),
        extra_good=(
            # the first deployment's opening, on the component (offline) and on its cluster child (real preview)
            (EKS, {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.10/32"], "clusterTags": BOOTSTRAP}),
            (
                "aws:eks/cluster:Cluster",
                {
                    "vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.10/32"]},
                    "tags": BOOTSTRAP,
                },
                eks_urn("aws:eks/cluster:Cluster", "eksCluster"),
            ),
            ("aws:eks/cluster:Cluster", {"vpcConfig": {"endpointPublicAccess": False}}),
        ),
    ),
    "eks-endpoint-bootstrap-open": Case(
        (EKS, {"endpointPublicAccess": False, "endpointPrivateAccess": True, "clusterTags": BOOTSTRAP}),
        (EKS, {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.10/32"], "clusterTags": BOOTSTRAP}),
        "the API endpoint is open to 203.0.113.10/32 for the first deployment",
        (EKS, {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.10/32"], "clusterTags": UO}),
        # a permanent opening is eks-endpoint-not-public's to report, not a reminder
        extra_good=((EKS, {"endpointPublicAccess": True, "publicAccessCidrs": ["198.51.100.0/24"], "tags": TAGS}),),
    ),
    "eks-secrets-encryption": Case(
        (EKS, {"encryptionConfigKeyArn": KEY_ARN}),
        (EKS, {}),
        "encryptionConfigKeyArn is not set",
        (EKS, {"encryptionConfigKeyArn": US}),
        extra_good=(
            (
                "aws:eks/cluster:Cluster",
                {"encryptionConfig": {"provider": {"keyArn": KEY_ARN}, "resources": ["secrets"]}},
            ),
        ),
    ),
    "eks-control-plane-logging": Case(
        (EKS, {"enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"]}),
        (EKS, {"enabledClusterLogTypes": ["api"]}),
        "not enabled: audit, authenticator, controllerManager, scheduler",
        (EKS, {"enabledClusterLogTypes": UA}),
    ),
    "eks-supported-version": Case(
        (EKS, {"version": "1.35"}),
        (EKS, {"version": "1.29"}),
        "1.29 is not in standard support",
        (EKS, {"version": US}),
    ),
    "eks-nodes-no-ssh": Case(
        ("aws:eks/nodeGroup:NodeGroup", {"nodeGroupName": "general"}),
        ("aws:eks/nodeGroup:NodeGroup", {"remoteAccess": {"ec2SshKey": "ops"}}),
        "remoteAccess is set",
        ("aws:eks/nodeGroup:NodeGroup", {"remoteAccess": UO}),
    ),
    "ec2-launch-template-imdsv2": Case(
        (LT, {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"}}),
        (LT, {"metadataOptions": {"httpTokens": "optional"}}),
        "httpTokens is optional",
        (LT, {"metadataOptions": {"httpTokens": US}}),
    ),
    "ec2-launch-template-ebs-encrypted": Case(
        (LT, {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY_ARN}}]}),
        (LT, {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]}),
        "EBS volume /dev/xvda is not encrypted",
        (LT, {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": US}}]}),
    ),
    "ecr-immutable-tags": Case(
        ("aws:ecr/repository:Repository", {"imageTagMutability": "IMMUTABLE"}),
        ("aws:ecr/repository:Repository", {}),
        "MUTABLE",
        ("aws:ecr/repository:Repository", {"imageTagMutability": US}),
    ),
    "ecr-scan-on-push": Case(
        ("aws:ecr/repository:Repository", {"imageScanningConfiguration": {"scanOnPush": True}}),
        ("aws:ecr/repository:Repository", {"imageScanningConfiguration": {"scanOnPush": False}}),
        "scanOnPush is not true",
        ("aws:ecr/repository:Repository", {"imageScanningConfiguration": {"scanOnPush": UB}}),
    ),
    "ecr-kms-encryption": Case(
        ("aws:ecr/repository:Repository", {"encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY_ARN}]}),
        ("aws:ecr/repository:Repository", {}),
        "AES256 only",
        ("aws:ecr/repository:Repository", {"encryptionConfigurations": UA}),
    ),
    # --- database
    "rds-storage-encrypted-cmk": Case(
        (CLUSTER, {"storageEncrypted": True, "kmsKeyId": KEY_ARN}),
        (CLUSTER, {"storageEncrypted": False}),
        "storageEncrypted is not true",
        (CLUSTER, {"storageEncrypted": UB}),
    ),
    "rds-not-public": Case(
        ("aws:rds/instance:Instance", {"publiclyAccessible": False}),
        ("aws:rds/instance:Instance", {"publiclyAccessible": True}),
        "publiclyAccessible is true",
        ("aws:rds/instance:Instance", {"publiclyAccessible": UB}),
    ),
    "rds-backup-retention": Case(
        (CLUSTER, {"backupRetentionPeriod": 14}),
        (CLUSTER, {"backupRetentionPeriod": 1}),
        "backupRetentionPeriod is 1; at least 7",
        (CLUSTER, {"backupRetentionPeriod": UN}),
    ),
    "rds-deletion-protection": Case(
        (CLUSTER, {"deletionProtection": True}),
        (CLUSTER, {"deletionProtection": False}),
        "deletionProtection is not true",
        (CLUSTER, {"deletionProtection": UB}),
    ),
    "rds-final-snapshot": Case(
        (CLUSTER, {"skipFinalSnapshot": False, "finalSnapshotIdentifier": "db-final"}),
        (CLUSTER, {"skipFinalSnapshot": True}),
        "skipFinalSnapshot is true",
        (CLUSTER, {"skipFinalSnapshot": UB}),
    ),
    "rds-multi-az": Case(
        [
            res(CLUSTER, "db"),
            res(CLUSTER_INSTANCE, "db-1", {"availabilityZone": "us-east-1a"}, deps=("db",)),
            res(CLUSTER_INSTANCE, "db-2", {"availabilityZone": "us-east-1b"}, deps=("db",)),
        ],
        [res(CLUSTER, "db"), res(CLUSTER_INSTANCE, "db-1", deps=("db",))],
        "cluster db has 1 instance(s)",
        [res("aws:rds/instance:Instance", "db", {"multiAz": UB})],
    ),
    "rds-managed-master-password": Case(
        [
            res(
                CLUSTER,
                "db",
                {"manageMasterUserPassword": True, "masterUsername": "app", "masterUserSecretKmsKeyId": KEY_ARN},
            )
        ],
        [res(CLUSTER, "db", {"masterUsername": "app", "masterPassword": "[secret]"})],
        "masterPassword is set",
        [res(CLUSTER, "db", {"manageMasterUserPassword": UB, "masterUsername": "app"})],
        extra_good=(
            [res(CLUSTER, "db", {"globalClusterIdentifier": "global", "replicationSourceIdentifier": US})],
            # the source of a global database: a write-only generated password (RDS cannot manage it there)
            [
                res(
                    CLUSTER,
                    "db",
                    {"masterUsername": "app", "masterPasswordWo": "[secret]", "masterPasswordWoVersion": 1},
                ),
                res(GLOBAL_CLUSTER, "global", {"sourceDbClusterIdentifier": "arn"}, deps=("db",)),
            ],
        ),
    ),
    "rds-iam-authentication": Case(
        (CLUSTER, {"iamDatabaseAuthenticationEnabled": True}),
        (CLUSTER, {}),
        "iamDatabaseAuthenticationEnabled is not true",
        (CLUSTER, {"iamDatabaseAuthenticationEnabled": UB}),
    ),
    "rds-log-exports": Case(
        (CLUSTER, {"engine": "aurora-postgresql", "enabledCloudwatchLogsExports": ["postgresql"]}),
        (CLUSTER, {"engine": "aurora-postgresql", "enabledCloudwatchLogsExports": []}),
        "does not include 'postgresql'",
        (CLUSTER, {"engine": "aurora-postgresql", "enabledCloudwatchLogsExports": UA}),
    ),
    "rds-performance-insights": Case(
        [res(CLUSTER, "db", {"performanceInsightsEnabled": True, "performanceInsightsKmsKeyId": KEY_ARN})],
        [res(CLUSTER, "db"), res(CLUSTER_INSTANCE, "db-1", deps=("db",))],
        "db-1: performanceInsightsEnabled is not true",
        [res(CLUSTER, "db", {"performanceInsightsEnabled": UB})],
        extra_good=(
            [res(CLUSTER, "db"), res(CLUSTER_INSTANCE, "db-1", {"performanceInsightsEnabled": True}, deps=("db",))],
        ),
    ),
    "rds-copy-tags-to-snapshots": Case(
        (CLUSTER, {"copyTagsToSnapshot": True}),
        (CLUSTER, {}),
        "copyTagsToSnapshot is not true",
        (CLUSTER, {"copyTagsToSnapshot": UB}),
    ),
    "rds-auto-minor-version-upgrade": Case(
        (CLUSTER_INSTANCE, {}),
        (CLUSTER_INSTANCE, {"autoMinorVersionUpgrade": False}),
        "autoMinorVersionUpgrade is false",
        (CLUSTER_INSTANCE, {"autoMinorVersionUpgrade": UB}),
    ),
    # --- edge
    "waf-managed-rules": Case(
        ("aws:wafv2/webAcl:WebAcl", {"rules": MANAGED}),
        ("aws:wafv2/webAcl:WebAcl", {"rules": [{**MANAGED[0], "overrideAction": {"count": {}}}]}),
        "AWSManagedRulesCommonRuleSet only counts",
        ("aws:wafv2/webAcl:WebAcl", {"rules": UA}),
    ),
    "waf-logging": Case(
        [
            res("aws:wafv2/webAcl:WebAcl", "acl"),
            res("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "log", deps=("acl",)),
        ],
        [res("aws:wafv2/webAcl:WebAcl", "acl")],
        "web ACL acl has no logging configuration",
        [
            res("aws:wafv2/webAcl:WebAcl", "acl", {"rules": UA}),
            res(
                "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
                "log",
                {"resourceArn": US},
                deps=("acl",),
            ),
        ],
    ),
    "waf-public-entry-protected": Case(
        [
            res(
                INGRESS,
                "api",
                ingress({**INTERNET_FACING, "alb.ingress.kubernetes.io/wafv2-acl-arn": "arn:aws:wafv2:acl"}),
            )
        ],
        [res(INGRESS, "api", ingress(INTERNET_FACING))],
        "internet-facing Ingress api has no alb.ingress.kubernetes.io/wafv2-acl-arn",
        [res(INGRESS, "api", ingress(UO))],
        extra_good=([res(INGRESS, "internal", ingress({"alb.ingress.kubernetes.io/scheme": "internal"}))],),
    ),
    # --- identity
    "kms-key-rotation": Case(
        (KMS_KEY, GOOD_KEY),
        (KMS_KEY, {**GOOD_KEY, "enableKeyRotation": False}),
        "enableKeyRotation is not true",
        (KMS_KEY, {**GOOD_KEY, "enableKeyRotation": UB}),
    ),
    "kms-no-lockout-bypass": Case(
        (KMS_KEY, GOOD_KEY),
        (KMS_KEY, {**GOOD_KEY, "bypassPolicyLockoutSafetyCheck": True}),
        "bypassPolicyLockoutSafetyCheck is true",
        (KMS_KEY, {**GOOD_KEY, "bypassPolicyLockoutSafetyCheck": UB}),
    ),
    "kms-deletion-window": Case(
        (KMS_KEY, GOOD_KEY),
        (KMS_KEY, {**GOOD_KEY, "deletionWindowInDays": 7}),
        "deletionWindowInDays is 7; at least 30",
        (KMS_KEY, {**GOOD_KEY, "deletionWindowInDays": UN}),
    ),
    "kms-no-open-principal": Case(
        (KMS_KEY, GOOD_KEY),
        (
            KMS_KEY,
            {
                **GOOD_KEY,
                "policy": doc(
                    {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
                ),
            },
        ),
        "statement Open lets anyone use or manage the key",
        (KMS_KEY, {**GOOD_KEY, "policy": US}),
        extra_good=(
            (
                KMS_KEY,
                {
                    **GOOD_KEY,
                    "policy": doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": "*"},
                            "Action": "kms:Decrypt",
                            "Resource": "*",
                            "Condition": {"StringEquals": {"kms:CallerAccount": "123456789012"}},
                        }
                    ),
                },
            ),
        ),
    ),
    "iam-no-wildcard-admin": Case(
        (
            "aws:iam/policy:Policy",
            {"policy": doc({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"})},
        ),
        (
            "aws:iam/rolePolicy:RolePolicy",
            {"policy": doc({"Sid": "Admin", "Effect": "Allow", "Action": "*", "Resource": "*"})},
        ),
        "statement Admin allows * on *",
        ("aws:iam/policy:Policy", {"policy": US}),
    ),
    "iam-catalog-valid": Case(
        [res(ROLE_POLICY, "p", {"policy": doc({"Effect": "Allow", "Action": SET_WEB_ACL, "Resource": "*"})})],
        [
            res(
                ROLE_POLICY,
                "p",
                {
                    "policy": doc(
                        {
                            "Sid": "Waf",
                            "Effect": "Allow",
                            "Action": SET_WEB_ACL,
                            "Resource": "arn:aws:elasticloadbalancing:us-east-1:1:listener/*",
                        }
                    )
                },
            )
        ],
        "p policy statement Waf: elasticloadbalancing:SetWebAcl supports no resource-level permissions",
        [res(ROLE_POLICY, "p", {"policy": US})],
    ),
    "iam-no-admin-attachments": Case(
        (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"policyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"},
        ),
        (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        "AdministratorAccess grants administrator-level access",
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"policyArn": US}),
    ),
    "iam-no-users": Case(
        (ROLE, {"assumeRolePolicy": IRSA_TRUST}),
        ("aws:iam/user:User", {"name": "deployer"}),
        "User declared",
        ("aws:iam/user:User", {"name": US}),
    ),
    "iam-no-access-keys": Case(
        (ROLE, {"assumeRolePolicy": IRSA_TRUST}),
        ("aws:iam/accessKey:AccessKey", {"user": "deployer"}),
        "long-lived credential",
        ("aws:iam/accessKey:AccessKey", {"user": US}),
    ),
    "iam-web-identity-trust-pinned": Case(
        (ROLE, {"assumeRolePolicy": IRSA_TRUST}),
        (
            ROLE,
            {
                "assumeRolePolicy": doc(
                    {
                        "Sid": "Irsa",
                        "Effect": "Allow",
                        "Principal": {"Federated": "arn:oidc"},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {"StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*"}},
                    }
                )
            },
        ),
        "statement Irsa: the token's :aud is not pinned",
        (ROLE, {"assumeRolePolicy": US}),
    ),
    "iam-trust-no-open-principal": Case(
        (
            ROLE,
            {
                "assumeRolePolicy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                )
            },
        ),
        (
            ROLE,
            {
                "assumeRolePolicy": doc(
                    {"Sid": "Anyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
                )
            },
        ),
        "statement Anyone lets any AWS principal assume the role",
        (ROLE, {"assumeRolePolicy": US}),
    ),
    "secretsmanager-cmk": Case(
        ("aws:secretsmanager/secret:Secret", {"kmsKeyId": KEY_ARN}),
        ("aws:secretsmanager/secret:Secret", {}),
        "kmsKeyId is not set",
        ("aws:secretsmanager/secret:Secret", {"kmsKeyId": US}),
    ),
    "secretsmanager-rotation": Case(
        [
            res("aws:secretsmanager/secret:Secret", "s"),
            res(
                "aws:secretsmanager/secretRotation:SecretRotation",
                "r",
                {"rotationRules": {"automaticallyAfterDays": 30}},
                deps=("s",),
            ),
        ],
        [res("aws:secretsmanager/secret:Secret", "s")],
        "secret s never rotates",
        [res("aws:secretsmanager/secret:Secret", "s", {"tags": UO})],
        extra_good=([res("aws:secretsmanager/secret:Secret", "s", {"tags": {"ai-platform/rotation": "external"}})],),
    ),
    # --- kubernetes
    "k8s-no-privileged": Case(
        k8s(deployment()),
        k8s(deployment(context(privileged=True))),
        "container api is privileged",
        k8s(deployment(container(securityContext=UO))),
    ),
    "k8s-no-privilege-escalation": Case(
        k8s(deployment()),
        k8s(deployment(context(allowPrivilegeEscalation=True))),
        "container api does not set allowPrivilegeEscalation: false",
        k8s(deployment(context(allowPrivilegeEscalation=UB))),
        # a vendor chart's Deployment is judged by k8s-chart-hardening (advisory), not here
        extra_good=(
            (
                DEPLOYMENT,
                deployment(context(allowPrivilegeEscalation=None)),
                chart_urn(DEPLOYMENT, "prod-addons-karpenter", "kube-system", "karpenter"),
            ),
        ),
    ),
    "k8s-no-added-capabilities": Case(
        k8s(deployment(context(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}))),
        (
            DEPLOYMENT,
            deployment(context(capabilities={"drop": ["ALL"], "add": ["SYS_ADMIN"]})),
            chart_urn(DEPLOYMENT, "prod-addons-metrics-server", "kube-system", "metrics-server"),
        ),
        "container api adds capabilities ['SYS_ADMIN']",
        k8s(deployment(context(capabilities={"drop": ["ALL"], "add": US}))),
    ),
    "k8s-no-host-namespaces": Case(
        k8s(deployment()),
        k8s(deployment(pod={"hostPID": True})),
        "hostPID is true",
        k8s(deployment(pod={"hostNetwork": UB})),
    ),
    "k8s-no-host-path": Case(
        k8s(deployment(pod={"volumes": [{"name": "tmp", "emptyDir": {}}]})),
        k8s(deployment(pod={"volumes": [{"name": "docker", "hostPath": {"path": "/var/run"}}]})),
        "volume docker mounts hostPath /var/run",
        k8s(deployment(pod={"volumes": UA})),
    ),
    "k8s-run-as-non-root": Case(
        k8s(deployment()),
        # the container's uid wins over the pod's
        k8s(deployment(context(runAsUser=1000), pod={"securityContext": {"runAsUser": 10001}})),
        "container api runs as uid 1000; at least 10000",
        k8s(deployment(context(runAsNonRoot=UB, runAsUser=None))),
        extra_good=(  # the ids set once for the pod
            k8s(
                deployment(
                    context(runAsNonRoot=None, runAsUser=None, runAsGroup=None),
                    pod={"securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001}},
                )
            ),
        ),
    ),
    "k8s-drop-all-capabilities": Case(
        k8s(deployment()),
        k8s(deployment(context(capabilities={"drop": ["NET_RAW"]}))),
        "container api does not drop ALL capabilities",
        k8s(deployment(context(capabilities={"drop": UA}))),
    ),
    "k8s-read-only-root-fs": Case(
        k8s(deployment()),
        k8s(deployment(context(readOnlyRootFilesystem=False))),
        "container api has a writable root filesystem",
        k8s(deployment(context(readOnlyRootFilesystem=UB))),
    ),
    "k8s-resources": Case(
        k8s(deployment()),
        k8s(deployment(container(resources={"requests": {"cpu": "1"}}))),
        "has no requests.memory, limits.memory",
        k8s(deployment(container(resources=UO))),
    ),
    "k8s-probes": Case(
        k8s(deployment()),
        k8s(deployment(container(livenessProbe=None))),
        "container api has no livenessProbe",
        k8s(deployment(container(readinessProbe=UO))),
    ),
    "k8s-image-pinned": Case(
        k8s(deployment()),
        k8s(deployment(container(image="public.ecr.aws/nginx/nginx:latest"))),
        "is latest",
        k8s(deployment(container(image=US))),
    ),
    "k8s-allowed-registry": Case(
        k8s(deployment()),
        k8s(deployment(container(image="docker.io/library/nginx:1.27"))),
        "is not from an allowed registry",
        k8s(deployment(container(image=US))),
    ),
    "k8s-pdb-for-replicated": Case(
        [
            res(DEPLOYMENT, "api", deployment()),
            res(
                "kubernetes:policy/v1:PodDisruptionBudget",
                "api-pdb",
                {
                    "metadata": {"name": "api", "namespace": "ai"},
                    "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "api"}}},
                },
            ),
        ],
        [res(DEPLOYMENT, "api", deployment())],
        "Deployment api runs 2 replicas with no PodDisruptionBudget",
        [res(DEPLOYMENT, "api", {**deployment(), "spec": {"replicas": UN}})],
        extra_good=([res(DEPLOYMENT, "api", {**deployment(), "spec": {**deployment()["spec"], "replicas": 1}})],),
    ),
    "k8s-not-default-namespace": Case(
        k8s(deployment()),
        ("kubernetes:core/v1:ConfigMap", {"metadata": {"name": "cfg"}}),
        "metadata.namespace is unset",
        k8s({"metadata": {"name": "api", "namespace": US}}),
    ),
    "k8s-no-plain-secret": Case(
        ("kubernetes:core/v1:Secret", {"type": "Opaque", "metadata": {"name": "x", "namespace": "ai"}}),
        (
            "kubernetes:core/v1:Secret",
            {"type": "Opaque", "metadata": {"name": "db", "namespace": "ai"}, "stringData": {"password": "x"}},
        ),
        "Secret db has stringData in the manifest",
        ("kubernetes:core/v1:Secret", {"type": "Opaque", "stringData": UO}),
    ),
    "k8s-chart-hardening": Case(
        [
            res(DEPLOYMENT, "ctl", deployment(), urn=chart_urn(DEPLOYMENT, "prod-addons-lbc", "kube-system", "ctl")),
            res(
                "kubernetes:policy/v1:PodDisruptionBudget",
                "ctl-pdb",
                {
                    "metadata": {"name": "api", "namespace": "ai"},
                    "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "api"}}},
                },
                urn=chart_urn("kubernetes:policy/v1:PodDisruptionBudget", "prod-addons-lbc", "kube-system", "ctl"),
            ),
        ],
        [
            res(
                DEPLOYMENT,
                "ctl",
                single_replica(deployment(context(readOnlyRootFilesystem=False))),
                urn=chart_urn(DEPLOYMENT, "prod-addons-lbc", "kube-system", "ctl"),
            )
        ],
        "[k8s-read-only-root-fs] container api has a writable root filesystem",
        [
            res(
                DEPLOYMENT,
                "ctl",
                deployment(context(readOnlyRootFilesystem=US)),
                urn=chart_urn(DEPLOYMENT, "prod-addons-lbc", "kube-system", "ctl"),
            )
        ],
        # the platform's own objects are judged by the mandatory rules, never here
        extra_good=([res(DEPLOYMENT, "api", deployment(context(readOnlyRootFilesystem=False)))],),
    ),
    "helm-chart-version-pinned": Case(
        ("kubernetes:helm.sh/v4:Chart", {"chart": "aws-load-balancer-controller", "version": "1.9.2"}),
        ("kubernetes:helm.sh/v4:Chart", {"chart": "metrics-server", "version": "^3.12"}),
        "version '^3.12' is a range",
        ("kubernetes:helm.sh/v4:Chart", {"chart": "metrics-server", "version": US}),
        extra_good=(("kubernetes:helm.sh/v4:Chart", {"chart": "oci://public.ecr.aws/karpenter/karpenter@sha256:abc"}),),
    ),
    # --- network
    "ec2-sg-no-world-ingress": Case(
        (
            "aws:ec2/securityGroup:SecurityGroup",
            {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/16"]}]},
        ),
        # the Kubernetes API (or any 443) from a public network that is not the whole internet
        (SG_RULE, {**API_INGRESS, "cidrBlocks": ["198.51.100.0/24"]}),
        "ingress on 443 (ports 443-443/tcp) from 198.51.100.0/24",
        (
            "aws:ec2/securityGroup:SecurityGroup",
            {"ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": UA}]},
        ),
        extra_good=(
            # the deployer rules on the cluster security group: a private network, a security group
            (SG_RULE, {**API_INGRESS, "cidrBlocks": ["100.64.8.0/22"]}),
            (SG_RULE, {**API_INGRESS, "sourceSecurityGroupId": "sg-0123456789abcdef0"}),
            (
                "aws:ec2/securityGroup:SecurityGroup",
                {
                    "tags": {"ai-platform/public-load-balancer": "true"},
                    "ingress": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}],
                },
            ),
        ),
    ),
    "ec2-default-sg-closed": Case(
        ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {"ingress": [], "egress": []}),
        (
            "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
            {"ingress": [{"protocol": "-1", "self": True}], "egress": []},
        ),
        "has 1 ingress rule(s)",
        ("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {"ingress": UA}),
    ),
    "ec2-vpc-default-sg-managed": Case(
        [res(VPC, "vpc"), res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "dsg", deps=("vpc",))],
        [res(VPC, "vpc")],
        "VPC vpc leaves its default security group unmanaged",
        [
            res(VPC, "vpc", {"cidrBlock": US}),
            res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "dsg", {"vpcId": US}, deps=("vpc",)),
        ],
    ),
    "ec2-vpc-flow-logs": Case(
        [res(VPC, "vpc"), res("aws:ec2/flowLog:FlowLog", "fl", {"trafficType": "ALL"}, deps=("vpc",))],
        [res(VPC, "vpc"), res("aws:ec2/flowLog:FlowLog", "fl", {"trafficType": "REJECT"}, deps=("vpc",))],
        "records only REJECT traffic",
        [res(VPC, "vpc"), res("aws:ec2/flowLog:FlowLog", "fl", {"trafficType": US}, deps=("vpc",))],
    ),
    "ec2-subnet-no-auto-public-ip": Case(
        ("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": False}),
        ("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True}),
        "mapPublicIpOnLaunch is true",
        ("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": UB}),
    ),
    # --- observability
    "logs-retention": Case(
        ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 365}),
        ("aws:cloudwatch/logGroup:LogGroup", {}),
        "retentionInDays is not set",
        ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": UN}),
    ),
    "logs-kms-encryption": Case(
        ("aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": KEY_ARN}),
        ("aws:cloudwatch/logGroup:LogGroup", {}),
        "kmsKeyId is not set",
        ("aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": US}),
    ),
    "sqs-encrypted": Case(
        ("aws:sqs/queue:Queue", {"kmsMasterKeyId": KEY_ARN}),
        ("aws:sqs/queue:Queue", {"sqsManagedSseEnabled": False}),
        "not encrypted at rest",
        ("aws:sqs/queue:Queue", {"kmsMasterKeyId": US}),
    ),
    "sns-encrypted": Case(
        ("aws:sns/topic:Topic", {"kmsMasterKeyId": KEY_ARN}),
        ("aws:sns/topic:Topic", {"kmsMasterKeyId": "alias/aws/sns"}),
        "is the AWS managed key alias/aws/sns",
        ("aws:sns/topic:Topic", {"kmsMasterKeyId": US}),
    ),
    "sns-tls-only": Case(
        [res(TOPIC, "t"), res(TOPIC_POLICY, "p", {"policy": SNS_TLS_POLICY}, deps=("t",))],
        [
            res(TOPIC, "t"),
            res(
                TOPIC_POLICY,
                "p",
                {"policy": doc({k: v for k, v in json.loads(SNS_TLS_POLICY)["Statement"][0].items() if k != "Effect"})},
                deps=("t",),
            ),
        ],
        "topic t's policy does not deny aws:SecureTransport=false",
        [res(TOPIC, "t"), res(TOPIC_POLICY, "p", {"policy": US}, deps=("t",))],
    ),
    "alarm-notifies-platform-topic": Case(
        [res(TOPIC, "t"), res(ALARM, "a", {"alarmActions": [US]}, deps=("t",))],
        [res(TOPIC, "t"), res(ALARM, "a", {"alarmActions": []})],
        "alarm a has no alarm action: it notifies nobody",
        [res(TOPIC, "t"), res(ALARM, "a", {"alarmActions": UA})],
    ),
    # --- stack
    "tags-mandatory": Case(
        (VPC, {"tags": TAGS}),
        (VPC, {"tags": {k: v for k, v in TAGS.items() if k != "component"}}),
        "missing tags: component",
        (VPC, {"tags": UO}),
    ),
    "stateful-protected": Case(
        [res(BUCKET, "data", protect=True)],
        [res(BUCKET, "data")],
        "Bucket data is not protected",
        [res(BUCKET, "data", {"bucket": US}, protect=True)],
    ),
    # --- storage
    "s3-public-access-block": Case(
        [res(BUCKET, "b"), res(PAB, "pab", ALL_BLOCKED, deps=("b",))],
        [res(BUCKET, "b"), res(PAB, "pab", {**ALL_BLOCKED, "blockPublicPolicy": False}, deps=("b",))],
        "leaves blockPublicPolicy off",
        [res(BUCKET, "b"), res(PAB, "pab", {**ALL_BLOCKED, "ignorePublicAcls": UB}, deps=("b",))],
    ),
    "s3-encryption-kms": Case(
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "sse",
                SSE_KMS,
                deps=("b",),
            ),
        ],
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
                "sse",
                {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
                deps=("b",),
            ),
        ],
        "bucket b uses AES256",
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "sse",
                {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": US}}]},
                deps=("b",),
            ),
        ],
        extra_good=(
            [
                res(BUCKET, "logs", {"tags": {"ai-platform/log-delivery": "true"}}),
                res(
                    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                    "sse",
                    {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
                    deps=("logs",),
                ),
            ],
        ),
    ),
    "s3-tls-only": Case(
        [res(BUCKET, "b"), res("aws:s3/bucketPolicy:BucketPolicy", "p", {"policy": TLS_POLICY}, deps=("b",))],
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketPolicy:BucketPolicy",
                "p",
                {
                    "policy": doc(
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": "*",
                        }
                    )
                },
                deps=("b",),
            ),
        ],
        "does not deny aws:SecureTransport=false",
        [res(BUCKET, "b"), res("aws:s3/bucketPolicy:BucketPolicy", "p", {"policy": US}, deps=("b",))],
    ),
    "s3-versioning": Case(
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketVersioning:BucketVersioning",
                "v",
                {"versioningConfiguration": {"status": "Enabled"}},
                deps=("b",),
            ),
        ],
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketVersioning:BucketVersioning",
                "v",
                {"versioningConfiguration": {"status": "Suspended"}},
                deps=("b",),
            ),
        ],
        "bucket b does not have versioning Enabled",
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketVersioning:BucketVersioning",
                "v",
                {"versioningConfiguration": {"status": US}},
                deps=("b",),
            ),
        ],
    ),
    "s3-no-public-acl": Case(
        ("aws:s3/bucketAcl:BucketAcl", {"acl": "private"}),
        ("aws:s3/bucketAcl:BucketAcl", {"acl": "public-read"}),
        "canned ACL public-read makes the bucket public",
        ("aws:s3/bucketAcl:BucketAcl", {"acl": US}),
    ),
    "s3-no-public-policy": Case(
        ("aws:s3/bucketPolicy:BucketPolicy", {"policy": TLS_POLICY}),
        (
            "aws:s3/bucketPolicy:BucketPolicy",
            {
                "policy": doc(
                    {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
                )
            },
        ),
        "statement Public allows ['s3:GetObject'] to anyone",
        ("aws:s3/bucketPolicy:BucketPolicy", {"policy": US}),
    ),
    "s3-access-logging": Case(
        [res(BUCKET, "b"), res("aws:s3/bucketLogging:BucketLogging", "l", {"targetBucket": "logs"}, deps=("b",))],
        [res(BUCKET, "b")],
        "bucket b has no server access logging",
        [res(BUCKET, "b"), res("aws:s3/bucketLogging:BucketLogging", "l", {"targetBucket": US}, deps=("b",))],
        extra_good=([res(BUCKET, "logs", {"tags": {"ai-platform/log-delivery": "true"}})],),
    ),
    "s3-lifecycle": Case(
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                "lc",
                {"rules": [{"id": "x", "status": "Enabled"}]},
                deps=("b",),
            ),
        ],
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                "lc",
                {"rules": [{"id": "x", "status": "Disabled"}]},
                deps=("b",),
            ),
        ],
        "bucket b has no enabled lifecycle rule",
        [
            res(BUCKET, "b"),
            res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lc", {"rules": UA}, deps=("b",)),
        ],
    ),
    "s3-acls-disabled": Case(
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                "o",
                {"rule": {"objectOwnership": "BucketOwnerEnforced"}},
                deps=("b",),
            ),
        ],
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                "o",
                {"rule": {"objectOwnership": "ObjectWriter"}},
                deps=("b",),
            ),
        ],
        "bucket b still honours ACLs",
        [
            res(BUCKET, "b"),
            res(
                "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                "o",
                {"rule": {"objectOwnership": US}},
                deps=("b",),
            ),
        ],
    ),
}

# The AWS API rules keep their cases beside their own tests (tests/aws_api_cases.py).
CASES.update({rule_id: Case(*case) for rule_id, case in AWS_API_CASES.items()})

# --- observability: alert rules and the monitoring namespace --------------------------------------------------

PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
SERVICE = "kubernetes:core/v1:Service"


def alert_rules(*rules: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (PROMETHEUS_RULE, {"spec": {"groups": [{"name": "g", "rules": [{"record": "r", "expr": "1"}, *rules]}]}})


COMPLETE_ALERT = {
    "alert": "AiApiDown",
    "expr": "up == 0",
    "labels": {"severity": "critical"},
    "annotations": {"summary": "s", "description": "d", "runbook_url": "docs/runbooks/alerts.md#aiapidown"},
}
CASES.update(
    {
        "alert-rules-complete": Case(
            alert_rules(COMPLETE_ALERT),
            alert_rules({**COMPLETE_ALERT, "labels": {"severity": "page"}}),
            "alert AiApiDown has severity 'page'; allowed: critical, warning, info",
            (PROMETHEUS_RULE, {"spec": US}),
            extra_good=(alert_rules(),),
        ),
        "monitoring-not-public": Case(
            (SERVICE, {"metadata": {"name": "grafana", "namespace": "monitoring"}, "spec": {"type": "ClusterIP"}}),
            (SERVICE, {"metadata": {"name": "grafana", "namespace": "monitoring"}, "spec": {"type": "LoadBalancer"}}),
            "Service grafana is of type LoadBalancer",
            (SERVICE, {"metadata": {"name": "grafana", "namespace": "monitoring"}, "spec": {"type": US}}),
            extra_good=(
                (SERVICE, {"metadata": {"name": "api", "namespace": "ai-api"}, "spec": {"type": "LoadBalancer"}}),
            ),
        ),
    }
)

# --- operations: budgets and maintenance windows ------------------------------------------------------------------

BUDGET = "aws:budgets/budget:Budget"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
ALERTING_BUDGET = {
    "timeUnit": "MONTHLY",
    "limitAmount": "500.00",
    "notifications": [{"subscriberSnsTopicArns": ["arn:aws:sns:us-east-1:123456789012:ai-platform-dev-alerts-info"]}],
}


def node_pool_budgets(*budgets: dict[str, Any]) -> dict[str, Any]:
    return {"spec": {"disruption": {"budgets": [{"nodes": "10%"}, *budgets]}}}


WINDOW_BUDGET = {"nodes": "0", "reasons": ["Drifted", "Underutilized"], "schedule": "0 11 * * 3", "duration": "166h"}
CASES.update(
    {
        "budget-present": Case(
            [res(BUDGET, "b", ALERTING_BUDGET), res("eks:index:Cluster", "c")],
            [res(BUDGET, "b", {**ALERTING_BUDGET, "notifications": []}), res("eks:index:Cluster", "c")],
            "budget b alerts no SNS topic",
            [res(BUDGET, "b", {**ALERTING_BUDGET, "notifications": UA})],
        ),
        "maintenance-window-set": Case(
            [res(NODE_POOL, "pool", node_pool_budgets(WINDOW_BUDGET))],
            [res(NODE_POOL, "pool", node_pool_budgets())],
            "NodePool pool may replace nodes at any hour",
            [res(NODE_POOL, "pool", {"spec": UO})],
            extra_good=([res(NODE_POOL, "pool", node_pool_budgets({**WINDOW_BUDGET, "reasons": ["Drifted"]}))],),
        ),
    }
)
# --- edge: DNS zones, certificates, records -----------------------------------------------------------------------

ZONE = "aws:route53/zone:Zone"
QUERY_LOG = "aws:route53/queryLog:QueryLog"
CERTIFICATE = "aws:acm/certificate:Certificate"
RECORD = "aws:route53/record:Record"
DNS_CERTIFICATE = {"domainName": "api.ai-platform.example.com", "validationMethod": "DNS", "keyAlgorithm": "RSA_2048"}
ALB_NAME = "ai-platform-prod-ai-api-1173332248.us-east-1.elb.amazonaws.com"
CASES.update(
    {
        "route53-query-logging": Case(
            [res(ZONE, "zone", {"name": "ai-platform.example.com"}), res(QUERY_LOG, "log", deps=("zone",))],
            [res(ZONE, "zone", {"name": "ai-platform.example.com"})],
            "public hosted zone zone has no query logging configuration",
            [res(ZONE, "zone", {"name": US}), res(QUERY_LOG, "log", {"zoneId": US}, deps=("zone",))],
            extra_good=([res(ZONE, "private", {"name": "internal.example", "vpcs": [{"vpcId": "vpc-1"}]})],),
        ),
        "acm-certificate-dns-validated": Case(
            (CERTIFICATE, DNS_CERTIFICATE),
            (CERTIFICATE, {**DNS_CERTIFICATE, "validationMethod": "EMAIL", "keyAlgorithm": "RSA_1024"}),
            "validationMethod is 'EMAIL'",
            (CERTIFICATE, {**DNS_CERTIFICATE, "validationMethod": US}),
            extra_good=(
                (CERTIFICATE, {"domainName": "api.example.com", "validationMethod": "DNS"}),  # ACM's RSA_2048
                (CERTIFICATE, {**DNS_CERTIFICATE, "keyAlgorithm": "EC_prime256v1"}),
                (CERTIFICATE, {"certificateBody": "-----BEGIN CERTIFICATE-----", "privateKey": "[secret]"}),
            ),
        ),
        "route53-known-targets": Case(
            (RECORD, {"name": "api.ai-platform.example.com", "type": "A",
                      "aliases": [{"name": ALB_NAME, "zoneId": "Z35SXDOTRQ7X7K"}]}),
            (RECORD, {"name": "www.ai-platform.example.com", "type": "CNAME",
                      "records": ["ai-platform-www.s3-website-us-east-1.amazonaws.com"]}),
            "points at ai-platform-www.s3-website-us-east-1.amazonaws.com, not a known target",
            (RECORD, {"name": "api.ai-platform.example.com", "type": "CNAME", "records": [US]}),
            extra_good=(
                (RECORD, {"name": "api.ai-platform.example.com", "type": "CNAME", "records": [ALB_NAME], "ttl": 60}),
                (RECORD, {"name": "_x.api.ai-platform.example.com.", "type": "CNAME",
                          "records": ["_y.xlfgrmvvlj.acm-validations.aws."]}),
                (RECORD, {"name": "ai-platform.example.com", "type": "TXT", "records": ["v=spf1 -all"]}),
            ),
        ),
    }
)  # fmt: skip
from tests.security_policy_cases import SECURITY_CASES  # noqa: E402 - the audit and detection rules, in their own file

CASES.update({rule_id: Case(*case) for rule_id, case in SECURITY_CASES.items()})
# --- serverless: Lambda functions, their EventBridge targets, DynamoDB tables ------------------------------------

FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TABLE = "aws:dynamodb/table:Table"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ai-platform-prod-ip-blocking"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/ai-platform-prod-ip-blocking-findings"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:ai-platform-prod-ip-blocking-dlq"
INVOKE = {"action": "lambda:InvokeFunction", "function": "f"}
CASES.update(
    {
        "lambda-not-public": Case(
            (PERMISSION, {**INVOKE, "principal": "events.amazonaws.com", "sourceArn": RULE_ARN}),
            (PERMISSION, {**INVOKE, "principal": "events.amazonaws.com"}),
            "events.amazonaws.com may invoke the function on behalf of any account",
            (PERMISSION, {**INVOKE, "principal": US}),
            extra_good=((PERMISSION, {**INVOKE, "principal": "secretsmanager.amazonaws.com", "sourceAccount": "1"}),),
        ),
        "lambda-dead-letter": Case(
            (FUNCTION, {"deadLetterConfig": {"targetArn": QUEUE_ARN}}),
            (FUNCTION, {}),
            "deadLetterConfig.targetArn is not set",
            (FUNCTION, {"deadLetterConfig": {"targetArn": US}}),
        ),
        "lambda-tracing": Case(
            (FUNCTION, {"tracingConfig": {"mode": "Active"}}),
            (FUNCTION, {"tracingConfig": {"mode": "PassThrough"}}),
            "tracingConfig.mode is PassThrough; allowed: Active",
            (FUNCTION, {"tracingConfig": US}),
        ),
        "lambda-reserved-concurrency": Case(
            (FUNCTION, {"reservedConcurrentExecutions": 2}),
            (FUNCTION, {"reservedConcurrentExecutions": -1}),
            "reservedConcurrentExecutions is -1; allowed: 1 or more",
            (FUNCTION, {"reservedConcurrentExecutions": UN}),
        ),
        "events-lambda-target-retry-dlq": Case(
            (
                TARGET,
                {
                    "arn": FUNCTION_ARN,
                    "deadLetterConfig": {"arn": QUEUE_ARN},
                    "retryPolicy": {"maximumRetryAttempts": 8, "maximumEventAgeInSeconds": 21600},
                },
            ),
            (TARGET, {"arn": FUNCTION_ARN, "retryPolicy": {"maximumRetryAttempts": 8}}),
            "deadLetterConfig.arn is not set",
            (TARGET, {"arn": US}),
            extra_good=((TARGET, {"arn": "arn:aws:sns:us-east-1:123456789012:alerts"}),),
        ),
        "dynamodb-kms": Case(
            (TABLE, {"serverSideEncryption": {"enabled": True, "kmsKeyArn": KEY_ARN}}),
            (TABLE, {"serverSideEncryption": {"enabled": True}}),
            "does not name a customer-managed key",
            (TABLE, {"serverSideEncryption": {"enabled": True, "kmsKeyArn": US}}),
        ),
        "dynamodb-pitr": Case(
            (TABLE, {"pointInTimeRecovery": {"enabled": True}}),
            (TABLE, {}),
            "pointInTimeRecovery is not enabled",
            (TABLE, {"pointInTimeRecovery": {"enabled": UB}}),
        ),
        "dynamodb-deletion-protection": Case(
            (TABLE, {"deletionProtectionEnabled": True}),
            (TABLE, {"deletionProtectionEnabled": False}),
            "one API call deletes the table",
            (TABLE, {"deletionProtectionEnabled": UB}),
        ),
    }
)
