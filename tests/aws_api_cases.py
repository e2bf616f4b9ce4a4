"""Cases of the AWS API rules (`policy/rules/aws_api.py`) for tests/test_policy_rules.py: per rule, a compliant
input, a violating one (with a fragment of the expected message) and one unknown during preview (they all pass an
unknown value: `pulumi up` checks again with the real one). `tests/policy_cases.py` merges them into `CASES`.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE as UN
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE as US

SG = "aws:ec2/securityGroup:SecurityGroup"

# rule id -> (good, bad, message fragment, unknown); inputs are (type, props) of a resource named "subject".
AWS_API_CASES: dict[str, tuple[Any, Any, str, Any]] = {
    "aws-api-acm": (
        ("aws:acm/certificate:Certificate", {"domainName": "api.example.com", "keyAlgorithm": "EC_prime256v1"}),
        ("aws:acm/certificate:Certificate", {"domainName": "api.example.com", "keyAlgorithm": "RSA_1024"}),
        "keyAlgorithm 'RSA_1024'",
        ("aws:acm/certificate:Certificate", {"domainName": US, "keyAlgorithm": US}),
    ),
    "aws-api-route53": (
        ("aws:route53/healthCheck:HealthCheck", {"type": "HTTPS", "resourcePath": "/health", "requestInterval": 10}),
        ("aws:route53/healthCheck:HealthCheck", {"type": "HTTPS", "resourcePath": "/health", "requestInterval": 20}),
        "requestInterval 20",
        ("aws:route53/healthCheck:HealthCheck", {"type": US, "requestInterval": UN}),
    ),
    "aws-api-backup": (
        ("aws:backup/vault:Vault", {"name": "prod-backup-vault"}),
        ("aws:backup/vault:Vault", {"name": "prod backup vault"}),
        "characters the API refuses: ' '",
        ("aws:backup/vault:Vault", {"name": US}),
    ),
    "aws-api-cloudwatch": (
        (
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            {"name": "ai-platform-prod-db-writer-cpu", "period": 60, "treatMissingData": "missing"},
        ),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", {"name": "ai-platform-prod-db-writer-cpu", "period": 90}),
        "period 90: does not have the documented form; allowed: 10, 20, 30 or a multiple of 60 seconds",
        ("aws:cloudwatch/metricAlarm:MetricAlarm", {"name": US, "period": UN}),
    ),
    "aws-api-cloudtrail": (
        ("aws:cloudtrail/trail:Trail", {"name": "ai-platform-prod-audit"}),
        ("aws:cloudtrail/trail:Trail", {"name": "ai-platform--audit"}),
        "no two of ._- adjacent",
        ("aws:cloudtrail/trail:Trail", {"name": US}),
    ),
    "aws-api-guardduty": (
        ("aws:guardduty/detectorFeature:DetectorFeature", {"name": "EKS_RUNTIME_MONITORING", "status": "ENABLED"}),
        ("aws:guardduty/detectorFeature:DetectorFeature", {"name": "EKS_RUNTIME", "status": "ENABLED"}),
        "not one of S3_DATA_EVENTS",
        ("aws:guardduty/detectorFeature:DetectorFeature", {"name": US, "status": US}),
    ),
    "aws-api-inspector2": (
        ("aws:inspector2/enabler:Enabler", {"accountIds": ["123456789012"], "resourceTypes": ["ECR", "EC2"]}),
        ("aws:inspector2/enabler:Enabler", {"accountIds": ["123456789012"], "resourceTypes": ["ECR_IMAGES"]}),
        "not one of EC2, ECR",
        ("aws:inspector2/enabler:Enabler", {"accountIds": [US], "resourceTypes": [US]}),
    ),
    "aws-api-securityhub": (
        (
            "aws:securityhub/standardsSubscription:StandardsSubscription",
            {"standardsArn": "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0"},
        ),
        (
            "aws:securityhub/standardsSubscription:StandardsSubscription",
            {"standardsArn": "arn:aws:securityhub:::standards/cis-aws-foundations-benchmark/v/3.0.0"},
        ),
        "does not have the documented form",
        ("aws:securityhub/standardsSubscription:StandardsSubscription", {"standardsArn": US}),
    ),
    "aws-api-ec2": (
        (SG, {"description": "HTTPS from the VPC", "ingress": [{"description": "HTTPS (443) from 10.0.0.0/16"}]}),
        (SG, {"description": "PostgreSQL \u2014 from the platform's nodes"}),
        'characters the API refuses: "\'\u2014"',
        (SG, {"description": US, "ingress": [{"description": US}]}),
    ),
    "aws-api-ecr": (
        ("aws:ecr/repository:Repository", {"name": "ai-platform/prod/ai-api", "imageTagMutability": "IMMUTABLE"}),
        ("aws:ecr/repository:Repository", {"name": "AI-Platform/api"}),
        "must match [a-z0-9]+",
        ("aws:ecr/repository:Repository", {"name": US}),
    ),
    "aws-api-eks": (
        ("aws:eks/nodeGroup:NodeGroup", {"capacityType": "ON_DEMAND", "scalingConfig": {"minSize": 0, "maxSize": 3}}),
        ("aws:eks/nodeGroup:NodeGroup", {"capacityType": "on-demand"}),
        "not one of ON_DEMAND, SPOT",
        ("aws:eks/nodeGroup:NodeGroup", {"capacityType": US}),
    ),
    "aws-api-events": (
        ("aws:cloudwatch/eventRule:EventRule", {"description": "Karpenter interruption handling: rebalance"}),
        ("aws:cloudwatch/eventRule:EventRule", {"description": "x" * 513}),
        "length 513; allowed at most 512",
        ("aws:cloudwatch/eventRule:EventRule", {"description": US}),
    ),
    "aws-api-iam": (
        ("aws:iam/role:Role", {"description": "Karpenter controller of ai-platform-prod", "maxSessionDuration": 3600}),
        ("aws:iam/role:Role", {"description": "reads the secrets \u2014 prod"}),
        "characters the API refuses: '\u2014'",
        ("aws:iam/role:Role", {"description": US, "maxSessionDuration": UN}),
    ),
    "aws-api-kms": (
        ("aws:kms/key:Key", {"description": "logs", "deletionWindowInDays": 30, "rotationPeriodInDays": 365}),
        ("aws:kms/key:Key", {"deletionWindowInDays": 3}),
        "out of range; allowed: 7 to 30 days",
        ("aws:kms/key:Key", {"deletionWindowInDays": UN}),
    ),
    "aws-api-logs": (
        ("aws:cloudwatch/logGroup:LogGroup", {"name": "/aws/vpc/prod-network/flow-logs", "retentionInDays": 365}),
        ("aws:cloudwatch/logGroup:LogGroup", {"name": "/aws/vpc/flow-logs", "retentionInDays": 100}),
        "retentionInDays 100: not an accepted value; allowed: one of 1, 3, 5",
        ("aws:cloudwatch/logGroup:LogGroup", {"name": US, "retentionInDays": UN}),
    ),
    "aws-api-rds": (
        ("aws:rds/cluster:Cluster", {"clusterIdentifier": "prod-database", "preferredBackupWindow": "03:00-04:00"}),
        ("aws:rds/cluster:Cluster", {"clusterIdentifier": "prod-database", "preferredBackupWindow": "03:00-03:15"}),
        "allowed: hh24:mi-hh24:mi (UTC), at least 30 minutes",
        ("aws:rds/cluster:Cluster", {"clusterIdentifier": US, "preferredBackupWindow": US}),
    ),
    "aws-api-s3": (
        ("aws:s3/bucket:Bucket", {"bucket": "ai-platform-prod-data-123456789012-us-east-1"}),
        ("aws:s3/bucket:Bucket", {"bucket": "AI_Platform"}),
        "bucket 'AI_Platform': does not have the documented form",
        ("aws:s3/bucket:Bucket", {"bucket": US}),
    ),
    "aws-api-secretsmanager": (
        ("aws:secretsmanager/secretRotation:SecretRotation", {"rotationRules": {"automaticallyAfterDays": 30}}),
        ("aws:secretsmanager/secretRotation:SecretRotation", {"rotationRules": {"automaticallyAfterDays": 0}}),
        "rotationRules.automaticallyAfterDays 0: out of range; allowed 1 to 1000",
        ("aws:secretsmanager/secretRotation:SecretRotation", {"rotationRules": {"automaticallyAfterDays": UN}}),
    ),
    "aws-api-budgets": (
        ("aws:budgets/budget:Budget", {"name": "ai-platform-prod-monthly", "timeUnit": "MONTHLY"}),
        ("aws:budgets/budget:Budget", {"name": "ai-platform:prod", "timeUnit": "MONTHLY"}),
        "ai-platform:prod",
        ("aws:budgets/budget:Budget", {"name": US, "timeUnit": US}),
    ),
    "aws-api-ce": (
        ("aws:costexplorer/anomalySubscription:AnomalySubscription", {"name": "costs", "frequency": "IMMEDIATE"}),
        ("aws:costexplorer/anomalySubscription:AnomalySubscription", {"name": "costs", "frequency": "HOURLY"}),
        "not one of DAILY, IMMEDIATE, WEEKLY",
        ("aws:costexplorer/anomalySubscription:AnomalySubscription", {"name": US, "frequency": US}),
    ),
    "aws-api-scheduler": (
        ("aws:scheduler/schedule:Schedule", {"name": "ai-platform-prod-maintenance-notice"}),
        ("aws:scheduler/schedule:Schedule", {"name": "ai-platform-prod-maintenance-notice-" + "x" * 40}),
        "length 76; allowed 1 to 64",
        ("aws:scheduler/schedule:Schedule", {"name": US}),
    ),
    "aws-api-sns": (
        ("aws:sns/topic:Topic", {"name": "prod-backup-events"}),
        ("aws:sns/topic:Topic", {"name": "prod.backup.events"}),
        "1-256 of a-z, A-Z, 0-9, _ and -",
        ("aws:sns/topic:Topic", {"name": US}),
    ),
    "aws-api-sqs": (
        ("aws:sqs/queue:Queue", {"name": "ai-platform-prod", "messageRetentionSeconds": 300}),
        ("aws:sqs/queue:Queue", {"name": "ai-platform-prod", "messageRetentionSeconds": 30}),
        "allowed: 60 to 1209600 seconds",
        ("aws:sqs/queue:Queue", {"name": US, "messageRetentionSeconds": UN}),
    ),
    "aws-api-ssm": (
        ("aws:ssm/parameter:Parameter", {"name": "/ai-platform/prod/flag", "tier": "Standard", "type": "String"}),
        ("aws:ssm/parameter:Parameter", {"name": "/ai-platform/prod/flag", "tier": "standard", "type": "String"}),
        "not one of Standard, Advanced",
        ("aws:ssm/parameter:Parameter", {"name": US, "tier": US}),
    ),
    "aws-api-wafv2": (
        ("aws:wafv2/ipSet:IpSet", {"name": "blocklist", "description": "Blocked at the ALB - security automation"}),
        ("aws:wafv2/ipSet:IpSet", {"name": "blocklist", "description": "Blocked (by the security automation)"}),
        "characters the API refuses: '()'",
        ("aws:wafv2/ipSet:IpSet", {"name": US, "description": US}),
    ),
    "aws-api-lambda": (
        (
            "aws:lambda/function:Function",
            {
                "name": "ai-platform-prod-ip-blocking",
                "runtime": "python3.12",
                "timeout": 60,
                "reservedConcurrentExecutions": 2,
            },
        ),
        ("aws:lambda/function:Function", {"name": "ai-platform-prod-ip-blocking", "timeout": 1200}),
        "timeout 1200: out of range; allowed: 1 to 900 seconds",
        ("aws:lambda/function:Function", {"name": US, "timeout": UN}),
    ),
    "aws-api-dynamodb": (
        ("aws:dynamodb/table:Table", {"name": "ai-platform-prod-ip-blocks", "billingMode": "PAY_PER_REQUEST"}),
        ("aws:dynamodb/table:Table", {"name": "ai platform blocks", "billingMode": "PAY_PER_REQUEST"}),
        "does not have the documented form; allowed: 3-255 of a-z, A-Z, 0-9 and _.-",
        ("aws:dynamodb/table:Table", {"name": US}),
    ),
}
