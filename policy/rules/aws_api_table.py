"""The AWS API constraint table behind `aws_api.py`: which AWS API input member each Pulumi input becomes.

`MAPPING` maps a Pulumi type token to its rows: input property (engine camelCase; `[]` iterates a list) ->
(service, operation, input member path) in botocore's service model, whose shape gives the length, pattern, enum
or range AWS enforces. Where the model states nothing but the API reference does, a row also carries a
`Documented` constraint citing its page. `generated` marks a name the provider generates: "autoname" (property
unset: logical name + "-" + 7 random hex) or "prefix" (a `*Prefix` input + a 26-character unique suffix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .aws_api_documented import (
    ACCESS_ENTRY_TYPE,
    ACM_KEY_ALGORITHM,
    BACKUP_COLD_STORAGE,
    BACKUP_PLAN_NAME,
    BACKUP_START,
    CW_DASHBOARD,
    CW_MISSING_DATA,
    CW_PERIOD,
    CW_QUERY_ID,
    DYNAMODB_TABLE,
    FLOW_INTERVAL,
    KMS_ALIAS,
    KMS_WINDOW,
    LAMBDA_NAME,
    LAMBDA_TIMEOUT,
    LOCK_CHANGEABLE,
    LOG_POLICY_NAME,
    LOG_RETENTION,
    LT_NAME,
    R53_HC_INTERVAL,
    R53_HC_PATH,
    R53_QUERY_LOG_GROUP,
    R53_SET_ID,
    R53_TTL,
    R53_ZONE_COMMENT,
    RDS_BACKUP_WINDOW,
    RDS_CLUSTER_ID,
    RDS_INSTANCE_ID,
    RDS_MAINTENANCE_WINDOW,
    RDS_MASTER_USER,
    RDS_MAX_ACU,
    RDS_MIN_ACU,
    RDS_MONITORING,
    RDS_PARAMETER_GROUP,
    RDS_PI_RETENTION,
    RDS_PORT,
    RDS_PROMOTION,
    RDS_RETENTION,
    RDS_SNAPSHOT_ID,
    RDS_SUBNET_GROUP,
    S3_BUCKET,
    S3_IA_TRANSITION,
    S3_POSITIVE_DAYS,
    S3_RULE_ID,
    S3_TRANSITION_DAYS,
    SECRET_NAME,
    SECURITYHUB_STANDARD,
    SG_NAME,
    SG_RULE_TEXT,
    SG_TEXT,
    SNS_PROTOCOL,
    SNS_TOPIC,
    SQS_DELAY,
    SQS_QUEUE,
    SQS_RETENTION,
    SQS_SIZE,
    SQS_VISIBILITY,
    SQS_WAIT,
    TRAIL_NAME,
    Documented,
)

Generated = Literal["autoname", "prefix"]


@dataclass(frozen=True)
class ApiField:
    """One mapping row: input `prop` (engine camelCase; `[]` iterates a list) is sent as `member` of `operation`."""

    prop: str
    service: str
    operation: str
    member: str
    generated: Generated | None = None
    documented: Documented | None = None


# --- the mapping table ----------------------------------------------------------------------------------------


def _rows(call: str, *specs: str | tuple[str, Documented], base: str = "") -> tuple[ApiField, ...]:
    """One type's rows. `call` is the usual "service Operation"; a spec is "prop Member [autoname|prefix]" or, for
    another call, "prop service Operation Member [autoname|prefix]", optionally paired with a `Documented`.
    A member path starting with `$` continues `base`."""
    service, operation = call.split()
    rows = []
    for spec in specs:
        text, documented = (spec, None) if isinstance(spec, str) else spec
        words = text.split()
        generated = words.pop() if words[-1] in ("autoname", "prefix") else None
        prop, member = words[0], words[-1].replace("$", base, 1)
        row_service, row_operation = (words[1], words[2]) if len(words) == 4 else (service, operation)
        if len(words) not in (2, 4):
            raise ValueError(f"malformed mapping row {text!r}")
        rows.append(ApiField(prop, row_service, row_operation, member, generated, documented))  # type: ignore[arg-type]
    return tuple(rows)


MAPPING: dict[str, tuple[ApiField, ...]] = {
    "aws:ec2/securityGroup:SecurityGroup": _rows(
        "ec2 CreateSecurityGroup",
        ("name GroupName autoname", SG_NAME),
        ("namePrefix GroupName prefix", SG_NAME),
        ("description Description", SG_TEXT),
        (
            "ingress[].description ec2 AuthorizeSecurityGroupIngress IpPermissions[].IpRanges[].Description",
            SG_RULE_TEXT,
        ),
        ("egress[].description ec2 AuthorizeSecurityGroupEgress IpPermissions[].IpRanges[].Description", SG_RULE_TEXT),
    ),
    "aws:ec2/securityGroupRule:SecurityGroupRule": _rows(
        "ec2 AuthorizeSecurityGroupIngress",
        ("description IpPermissions[].IpRanges[].Description", SG_RULE_TEXT),
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _rows(
        "ec2 AuthorizeSecurityGroupIngress",
        ("description IpPermissions[].IpRanges[].Description", SG_RULE_TEXT),
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _rows(
        "ec2 AuthorizeSecurityGroupEgress",
        ("description IpPermissions[].IpRanges[].Description", SG_RULE_TEXT),
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": _rows(
        "ec2 CreateLaunchTemplate",
        ("name LaunchTemplateName", LT_NAME),
        ("namePrefix LaunchTemplateName prefix", LT_NAME),
        "description VersionDescription",
        "blockDeviceMappings[].ebs.volumeType $.BlockDeviceMappings[].Ebs.VolumeType",
        "metadataOptions.httpTokens $.MetadataOptions.HttpTokens",
        "metadataOptions.httpEndpoint $.MetadataOptions.HttpEndpoint",
        base="LaunchTemplateData",
    ),
    "aws:ec2/flowLog:FlowLog": _rows(
        "ec2 CreateFlowLogs",
        ("maxAggregationInterval MaxAggregationInterval", FLOW_INTERVAL),
        "trafficType TrafficType",
        "logDestinationType LogDestinationType",
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _rows(
        "ec2 CreateVpcEndpoint",
        "vpcEndpointType VpcEndpointType",
    ),
    "aws:ec2/eip:Eip": _rows(
        "ec2 AllocateAddress",
        "domain Domain",
    ),
    "aws:ec2/natGateway:NatGateway": _rows(
        "ec2 CreateNatGateway",
        "connectivityType ConnectivityType",
    ),
    "aws:cloudtrail/trail:Trail": _rows(
        "cloudtrail CreateTrail",
        ("name Name autoname", TRAIL_NAME),
        "advancedEventSelectors[].name cloudtrail PutEventSelectors $.Name",
        "advancedEventSelectors[].fieldSelectors[].field cloudtrail PutEventSelectors $.FieldSelectors[].Field",
        "advancedEventSelectors[].fieldSelectors[].equals[] cloudtrail PutEventSelectors $.FieldSelectors[].Equals[]",
        (
            "advancedEventSelectors[].fieldSelectors[].startsWiths[] cloudtrail PutEventSelectors"
            " $.FieldSelectors[].StartsWith[]"
        ),
        base="AdvancedEventSelectors[]",
    ),
    "aws:guardduty/detector:Detector": _rows(
        "guardduty CreateDetector",
        "findingPublishingFrequency FindingPublishingFrequency",
    ),
    "aws:guardduty/detectorFeature:DetectorFeature": _rows(
        "guardduty UpdateDetector",
        "name Features[].Name",
        "status Features[].Status",
        "additionalConfigurations[].name Features[].AdditionalConfiguration[].Name",
        "additionalConfigurations[].status Features[].AdditionalConfiguration[].Status",
    ),
    "aws:securityhub/account:Account": _rows(
        "securityhub EnableSecurityHub",
        "controlFindingGenerator ControlFindingGenerator",
    ),
    "aws:securityhub/standardsSubscription:StandardsSubscription": _rows(
        "securityhub BatchEnableStandards",
        ("standardsArn StandardsSubscriptionRequests[].StandardsArn", SECURITYHUB_STANDARD),
    ),
    "aws:inspector2/enabler:Enabler": _rows(
        "inspector2 Enable",
        "accountIds[] accountIds[]",
        "resourceTypes[] resourceTypes[]",
    ),
    "aws:cloudwatch/eventRule:EventRule": _rows(
        "events PutRule",
        "name Name autoname",
        "description Description",
        "eventPattern EventPattern",
        "scheduleExpression ScheduleExpression",
        "state State",
    ),
    "aws:cloudwatch/eventTarget:EventTarget": _rows(
        "events PutTargets",
        "targetId Targets[].Id",
        "rule Rule",
        "retryPolicy.maximumRetryAttempts Targets[].RetryPolicy.MaximumRetryAttempts",
        "retryPolicy.maximumEventAgeInSeconds Targets[].RetryPolicy.MaximumEventAgeInSeconds",
    ),
    "aws:lambda/function:Function": _rows(
        "lambda CreateFunction",
        ("name FunctionName autoname", LAMBDA_NAME),
        "description Description",
        "runtime Runtime",
        "handler Handler",
        ("timeout Timeout", LAMBDA_TIMEOUT),
        "memorySize MemorySize",
        "architectures[] Architectures[]",
        "tracingConfig.mode TracingConfig.Mode",
        "loggingConfig.logFormat LoggingConfig.LogFormat",
        "loggingConfig.applicationLogLevel LoggingConfig.ApplicationLogLevel",
        "loggingConfig.systemLogLevel LoggingConfig.SystemLogLevel",
        "loggingConfig.logGroup LoggingConfig.LogGroup",
        "reservedConcurrentExecutions lambda PutFunctionConcurrency ReservedConcurrentExecutions",
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _rows(
        "lambda PutFunctionEventInvokeConfig",
        "maximumRetryAttempts MaximumRetryAttempts",
        "maximumEventAgeInSeconds MaximumEventAgeInSeconds",
    ),
    "aws:lambda/permission:Permission": _rows(
        "lambda AddPermission",
        "statementId StatementId",
        "action Action",
        "principal Principal",
        "sourceArn SourceArn",
        "sourceAccount SourceAccount",
    ),
    "aws:dynamodb/table:Table": _rows(
        "dynamodb CreateTable",
        ("name TableName", DYNAMODB_TABLE),
        "billingMode BillingMode",
        "hashKey KeySchema[].AttributeName",
        "attributes[].name AttributeDefinitions[].AttributeName",
        "attributes[].type AttributeDefinitions[].AttributeType",
        "tableClass TableClass",
        "ttl.attributeName dynamodb UpdateTimeToLive TimeToLiveSpecification.AttributeName",
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": _rows(
        "cloudwatch PutMetricAlarm",
        "name AlarmName autoname",
        "alarmDescription AlarmDescription",
        "comparisonOperator ComparisonOperator",
        "statistic Statistic",
        "namespace Namespace",
        "metricName MetricName",
        ("period Period", CW_PERIOD),
        "evaluationPeriods EvaluationPeriods",
        "datapointsToAlarm DatapointsToAlarm",
        ("treatMissingData TreatMissingData", CW_MISSING_DATA),
        "alarmActions[] AlarmActions[]",
        "okActions[] OKActions[]",
        ("metricQueries[].id Metrics[].Id", CW_QUERY_ID),
        "metricQueries[].expression Metrics[].Expression",
        ("metricQueries[].period Metrics[].Period", CW_PERIOD),
        "metricQueries[].metric.namespace Metrics[].MetricStat.Metric.Namespace",
        "metricQueries[].metric.metricName Metrics[].MetricStat.Metric.MetricName",
        ("metricQueries[].metric.period Metrics[].MetricStat.Period", CW_PERIOD),
    ),
    "aws:cloudwatch/dashboard:Dashboard": _rows(
        "cloudwatch PutDashboard",
        ("dashboardName DashboardName", CW_DASHBOARD),
    ),
    "aws:sns/topicSubscription:TopicSubscription": _rows(
        "sns Subscribe",
        ("protocol Protocol", SNS_PROTOCOL),
    ),
    "aws:cloudwatch/logGroup:LogGroup": _rows(
        "logs CreateLogGroup",
        "name logGroupName autoname",
        "kmsKeyId kmsKeyId",
        "logGroupClass logGroupClass",
        ("retentionInDays logs PutRetentionPolicy retentionInDays", LOG_RETENTION),
    ),
    "aws:backup/plan:Plan": _rows(
        "backup CreateBackupPlan",
        ("name BackupPlan.BackupPlanName autoname", BACKUP_PLAN_NAME),
        "rules[].ruleName $.RuleName",
        "rules[].targetVaultName $.TargetBackupVaultName",
        ("rules[].startWindow $.StartWindowMinutes", BACKUP_START),
        ("rules[].lifecycle $.Lifecycle", BACKUP_COLD_STORAGE),
        ("rules[].copyActions[].lifecycle $.CopyActions[].Lifecycle", BACKUP_COLD_STORAGE),
        base="BackupPlan.Rules[]",
    ),
    "aws:backup/selection:Selection": _rows(
        "backup CreateBackupSelection",
        "name BackupSelection.SelectionName",
    ),
    "aws:backup/vault:Vault": _rows(
        "backup CreateBackupVault",
        "name BackupVaultName autoname",
    ),
    "aws:backup/vaultLockConfiguration:VaultLockConfiguration": _rows(
        "backup PutBackupVaultLockConfiguration",
        "backupVaultName BackupVaultName",
        ("changeableForDays ChangeableForDays", LOCK_CHANGEABLE),
    ),
    "aws:backup/vaultNotifications:VaultNotifications": _rows(
        "backup PutBackupVaultNotifications",
        "backupVaultName BackupVaultName",
        "backupVaultEvents[] BackupVaultEvents[]",
    ),
    "aws:ecr/repository:Repository": _rows(
        "ecr CreateRepository",
        "name repositoryName autoname",
        "imageTagMutability imageTagMutability",
        "encryptionConfigurations[].encryptionType encryptionConfiguration.encryptionType",
    ),
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": _rows(
        "ecr PutReplicationConfiguration",
        "replicationConfiguration.rules[].destinations[].region $.rules[].destinations[].region",
        "replicationConfiguration.rules[].destinations[].registryId $.rules[].destinations[].registryId",
        "replicationConfiguration.rules[].repositoryFilters[].filter $.rules[].repositoryFilters[].filter",
        "replicationConfiguration.rules[].repositoryFilters[].filterType $.rules[].repositoryFilters[].filterType",
        base="replicationConfiguration",
    ),
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _rows(
        "ecr PutLifecyclePolicy",
        "repository repositoryName",
        "policy lifecyclePolicyText",
    ),
    "aws:eks/accessEntry:AccessEntry": _rows(
        "eks CreateAccessEntry",
        ("type type", ACCESS_ENTRY_TYPE),
    ),
    "aws:eks/addon:Addon": _rows(
        "eks CreateAddon",
        "resolveConflictsOnCreate resolveConflicts",
        "resolveConflictsOnUpdate eks UpdateAddon resolveConflicts",
    ),
    "aws:eks/nodeGroup:NodeGroup": _rows(
        "eks CreateNodegroup",
        "capacityType capacityType",
        "amiType amiType",
        "scalingConfig.minSize scalingConfig.minSize",
        "scalingConfig.maxSize scalingConfig.maxSize",
        "scalingConfig.desiredSize scalingConfig.desiredSize",
        "updateConfig.maxUnavailable updateConfig.maxUnavailable",
        "updateConfig.maxUnavailablePercentage updateConfig.maxUnavailablePercentage",
        "taints[].key taints[].key",
        "taints[].value taints[].value",
        "taints[].effect taints[].effect",
    ),
    "aws:iam/role:Role": _rows(
        "iam CreateRole",
        "name RoleName autoname",
        "namePrefix RoleName prefix",
        "description Description",
        "path Path",
        "maxSessionDuration MaxSessionDuration",
        "assumeRolePolicy AssumeRolePolicyDocument",
    ),
    "aws:iam/rolePolicy:RolePolicy": _rows(
        "iam PutRolePolicy",
        "name PolicyName autoname",
        "role RoleName",
        "policy PolicyDocument",
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _rows(
        "iam AttachRolePolicy",
        "role RoleName",
        "policyArn PolicyArn",
    ),
    "aws:iam/policy:Policy": _rows(
        "iam CreatePolicy",
        "name PolicyName autoname",
        "description Description",
        "policy PolicyDocument",
    ),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _rows(
        "iam CreateOpenIDConnectProvider",
        "url Url",
        "clientIdLists[] ClientIDList[]",
        "thumbprintLists[] ThumbprintList[]",
    ),
    "aws:kms/key:Key": _rows(
        "kms CreateKey",
        "description Description",
        "policy Policy",
        "keyUsage KeyUsage",
        "customerMasterKeySpec KeySpec",
        ("deletionWindowInDays kms ScheduleKeyDeletion PendingWindowInDays", KMS_WINDOW),
        "rotationPeriodInDays kms EnableKeyRotation RotationPeriodInDays",
    ),
    "aws:kms/replicaKey:ReplicaKey": _rows(
        "kms ReplicateKey",
        "description Description",
        "policy Policy",
        "primaryKeyArn KeyId",
        ("deletionWindowInDays kms ScheduleKeyDeletion PendingWindowInDays", KMS_WINDOW),
    ),
    "aws:kms/alias:Alias": _rows(
        "kms CreateAlias",
        ("name AliasName", KMS_ALIAS),
    ),
    "aws:rds/cluster:Cluster": _rows(
        "rds CreateDBCluster",
        ("clusterIdentifier DBClusterIdentifier autoname", RDS_CLUSTER_ID),
        ("masterUsername MasterUsername", RDS_MASTER_USER),
        ("port Port", RDS_PORT),
        ("backupRetentionPeriod BackupRetentionPeriod", RDS_RETENTION),
        ("preferredBackupWindow PreferredBackupWindow", RDS_BACKUP_WINDOW),
        ("preferredMaintenanceWindow PreferredMaintenanceWindow", RDS_MAINTENANCE_WINDOW),
        ("finalSnapshotIdentifier rds DeleteDBCluster FinalDBSnapshotIdentifier", RDS_SNAPSHOT_ID),
        ("serverlessv2ScalingConfiguration.minCapacity $.MinCapacity", RDS_MIN_ACU),
        ("serverlessv2ScalingConfiguration.maxCapacity $.MaxCapacity", RDS_MAX_ACU),
        base="ServerlessV2ScalingConfiguration",
    ),
    "aws:rds/globalCluster:GlobalCluster": _rows(
        "rds CreateGlobalCluster",
        "globalClusterIdentifier GlobalClusterIdentifier",
    ),
    "aws:rds/clusterInstance:ClusterInstance": _rows(
        "rds CreateDBInstance",
        ("identifier DBInstanceIdentifier autoname", RDS_INSTANCE_ID),
        ("monitoringInterval MonitoringInterval", RDS_MONITORING),
        ("promotionTier PromotionTier", RDS_PROMOTION),
        ("performanceInsightsRetentionPeriod PerformanceInsightsRetentionPeriod", RDS_PI_RETENTION),
        ("preferredMaintenanceWindow PreferredMaintenanceWindow", RDS_MAINTENANCE_WINDOW),
    ),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": _rows(
        "rds CreateDBClusterParameterGroup",
        ("name DBClusterParameterGroupName autoname", RDS_PARAMETER_GROUP),
    ),
    "aws:rds/subnetGroup:SubnetGroup": _rows(
        "rds CreateDBSubnetGroup",
        ("name DBSubnetGroupName autoname", RDS_SUBNET_GROUP),
    ),
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _rows(
        "s3 PutBucketReplication",
        ("bucket Bucket", S3_BUCKET),
        ("rules[].id $.Rules[].ID", S3_RULE_ID),
        "rules[].status $.Rules[].Status",
        "rules[].deleteMarkerReplication.status $.Rules[].DeleteMarkerReplication.Status",
        "rules[].destination.storageClass $.Rules[].Destination.StorageClass",
        "rules[].destination.replicationTime.status $.Rules[].Destination.ReplicationTime.Status",
        "rules[].destination.metrics.status $.Rules[].Destination.Metrics.Status",
        base="ReplicationConfiguration",
    ),
    "aws:s3/bucket:Bucket": _rows(
        "s3 CreateBucket",
        ("bucket Bucket autoname", S3_BUCKET),
        ("bucketPrefix Bucket prefix", S3_BUCKET),
    ),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _rows(
        "s3 PutBucketLifecycleConfiguration",
        ("rules[].id $.ID", S3_RULE_ID),
        "rules[].status $.Status",
        ("rules[].expiration.days $.Expiration.Days", S3_POSITIVE_DAYS),
        ("rules[].transitions[].days $.Transitions[].Days", S3_TRANSITION_DAYS),
        ("rules[].transitions[] $.Transitions[]", S3_IA_TRANSITION),
        "rules[].transitions[].storageClass $.Transitions[].StorageClass",
        (
            "rules[].noncurrentVersionExpiration.noncurrentDays $.NoncurrentVersionExpiration.NoncurrentDays",
            S3_POSITIVE_DAYS,
        ),
        (
            "rules[].noncurrentVersionTransitions[].noncurrentDays $.NoncurrentVersionTransitions[].NoncurrentDays",
            S3_TRANSITION_DAYS,
        ),
        "rules[].noncurrentVersionTransitions[].storageClass $.NoncurrentVersionTransitions[].StorageClass",
        (
            (
                "rules[].abortIncompleteMultipartUpload.daysAfterInitiation"
                " $.AbortIncompleteMultipartUpload.DaysAfterInitiation"
            ),
            S3_POSITIVE_DAYS,
        ),
        base="LifecycleConfiguration.Rules[]",
    ),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _rows(
        "s3 PutBucketOwnershipControls",
        "rule.objectOwnership OwnershipControls.Rules[].ObjectOwnership",
    ),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _rows(
        "s3 PutBucketEncryption",
        "rules[].applyServerSideEncryptionByDefault.sseAlgorithm $.ApplyServerSideEncryptionByDefault.SSEAlgorithm",
        base="ServerSideEncryptionConfiguration.Rules[]",
    ),
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": _rows(
        "s3 PutObjectLockConfiguration",
        "rule.defaultRetention.mode $.DefaultRetention.Mode",
        ("rule.defaultRetention.days $.DefaultRetention.Days", S3_POSITIVE_DAYS),
        base="ObjectLockConfiguration.Rule",
    ),
    "aws:s3/bucketLogging:BucketLogging": _rows(
        "s3 PutBucketLogging",
        (
            "targetObjectKeyFormat.partitionedPrefix.partitionDateSource"
            " $.TargetObjectKeyFormat.PartitionedPrefix.PartitionDateSource"
        ),
        base="BucketLoggingStatus.LoggingEnabled",
    ),
    "aws:secretsmanager/secret:Secret": _rows(
        "secretsmanager CreateSecret",
        ("name Name autoname", SECRET_NAME),
        "description Description",
    ),
    "aws:secretsmanager/secretVersion:SecretVersion": _rows(
        "secretsmanager PutSecretValue",
        "secretId SecretId",
        "secretString SecretString",
    ),
    "aws:secretsmanager/secretRotation:SecretRotation": _rows(
        "secretsmanager RotateSecret",
        "rotationRules.automaticallyAfterDays RotationRules.AutomaticallyAfterDays",
        "rotationRules.duration RotationRules.Duration",
        "rotationRules.scheduleExpression RotationRules.ScheduleExpression",
    ),
    "aws:budgets/budget:Budget": _rows(
        "budgets CreateBudget",
        "name Budget.BudgetName",
        "limitAmount Budget.BudgetLimit.Amount",
        "budgetType Budget.BudgetType",
        "timeUnit Budget.TimeUnit",
        "notifications[].notificationType NotificationsWithSubscribers[].Notification.NotificationType",
        "notifications[].comparisonOperator NotificationsWithSubscribers[].Notification.ComparisonOperator",
        "notifications[].threshold NotificationsWithSubscribers[].Notification.Threshold",
        "notifications[].thresholdType NotificationsWithSubscribers[].Notification.ThresholdType",
    ),
    "aws:costexplorer/anomalyMonitor:AnomalyMonitor": _rows(
        "ce CreateAnomalyMonitor",
        "name AnomalyMonitor.MonitorName",
        "monitorType AnomalyMonitor.MonitorType",
    ),
    "aws:costexplorer/anomalySubscription:AnomalySubscription": _rows(
        "ce CreateAnomalySubscription",
        "name AnomalySubscription.SubscriptionName",
        "frequency AnomalySubscription.Frequency",
    ),
    "aws:costexplorer/costAllocationTag:CostAllocationTag": _rows(
        "ce UpdateCostAllocationTagsStatus",
        "tagKey CostAllocationTagsStatus[].TagKey",
        "status CostAllocationTagsStatus[].Status",
    ),
    "aws:scheduler/schedule:Schedule": _rows(
        "scheduler CreateSchedule",
        "name Name autoname",
        "description Description",
        "scheduleExpression ScheduleExpression",
        "scheduleExpressionTimezone ScheduleExpressionTimezone",
        "flexibleTimeWindow.mode FlexibleTimeWindow.Mode",
        "target.roleArn Target.RoleArn",
        "target.retryPolicy.maximumEventAgeInSeconds Target.RetryPolicy.MaximumEventAgeInSeconds",
        "target.retryPolicy.maximumRetryAttempts Target.RetryPolicy.MaximumRetryAttempts",
    ),
    "aws:sns/topic:Topic": _rows(
        "sns CreateTopic",
        ("name Name autoname", SNS_TOPIC),
    ),
    "aws:sqs/queue:Queue": _rows(
        "sqs CreateQueue",
        ("name QueueName autoname", SQS_QUEUE),
        ("messageRetentionSeconds Attributes", SQS_RETENTION),
        ("delaySeconds Attributes", SQS_DELAY),
        ("visibilityTimeoutSeconds Attributes", SQS_VISIBILITY),
        ("receiveWaitTimeSeconds Attributes", SQS_WAIT),
        ("maxMessageSize Attributes", SQS_SIZE),
    ),
    "aws:ssm/parameter:Parameter": _rows(
        "ssm PutParameter",
        "name Name",
        "description Description",
        "tier Tier",
        "type Type",
    ),
    "aws:wafv2/ipSet:IpSet": _rows(
        "wafv2 CreateIPSet",
        "name Name",
        "description Description",
        "scope Scope",
        "ipAddressVersion IPAddressVersion",
        "addresses[] Addresses[]",
    ),
    "aws:wafv2/webAcl:WebAcl": _rows(
        "wafv2 CreateWebACL",
        "name Name",
        "description Description",
        "scope Scope",
        "rules[].name Rules[].Name",
        "rules[].priority Rules[].Priority",
        "rules[].visibilityConfig.metricName Rules[].VisibilityConfig.MetricName",
        "visibilityConfig.metricName VisibilityConfig.MetricName",
    ),
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": _rows(
        "wafv2 PutLoggingConfiguration",
        "logDestinationConfigs[] LoggingConfiguration.LogDestinationConfigs[]",
    ),
    "aws:route53/zone:Zone": _rows(
        "route53 CreateHostedZone",
        "name Name",
        ("comment HostedZoneConfig.Comment", R53_ZONE_COMMENT),
    ),
    "aws:route53/record:Record": _rows(
        "route53 ChangeResourceRecordSets",
        "zoneId HostedZoneId",
        "name $.Name",
        "type $.Type",
        ("ttl $.TTL", R53_TTL),
        ("setIdentifier $.SetIdentifier", R53_SET_ID),
        "failoverRoutingPolicies[].type $.Failover",
        "healthCheckId $.HealthCheckId",
        "records[] $.ResourceRecords[].Value",
        "aliases[].name $.AliasTarget.DNSName",
        "aliases[].zoneId $.AliasTarget.HostedZoneId",
        base="ChangeBatch.Changes[].ResourceRecordSet",
    ),
    "aws:route53/healthCheck:HealthCheck": _rows(
        "route53 CreateHealthCheck",
        "type HealthCheckConfig.Type",
        "fqdn HealthCheckConfig.FullyQualifiedDomainName",
        "port HealthCheckConfig.Port",
        ("resourcePath HealthCheckConfig.ResourcePath", R53_HC_PATH),
        ("requestInterval HealthCheckConfig.RequestInterval", R53_HC_INTERVAL),
        "failureThreshold HealthCheckConfig.FailureThreshold",
        "regions[] HealthCheckConfig.Regions[]",
    ),
    "aws:route53/queryLog:QueryLog": _rows(
        "route53 CreateQueryLoggingConfig",
        "zoneId HostedZoneId",
        ("cloudwatchLogGroupArn CloudWatchLogsLogGroupArn", R53_QUERY_LOG_GROUP),
    ),
    "aws:acm/certificate:Certificate": _rows(
        "acm RequestCertificate",
        "domainName DomainName",
        "subjectAlternativeNames[] SubjectAlternativeNames[]",
        "validationMethod ValidationMethod",
        ("keyAlgorithm KeyAlgorithm", ACM_KEY_ALGORITHM),
        "options.certificateTransparencyLoggingPreference Options.CertificateTransparencyLoggingPreference",
    ),
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": _rows(
        "logs PutResourcePolicy",
        ("policyName policyName", LOG_POLICY_NAME),
        "policyDocument policyDocument",
    ),
}
