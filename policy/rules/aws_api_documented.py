"""Documented AWS API constraints: what the AWS API reference states but botocore's service models do not.

Each `Documented` cites its page. `aws_api_table.py` attaches them to mapping rows; `aws_api.py` applies them next
to the model's own constraints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Documented:
    """A constraint the AWS documentation states but the service model does not. `low`/`high` bound a string's
    length or a number's value; `pattern` is a Python regex matched against the whole value; `charset` lists every
    allowed character (messages name the others); `check` is a predicate for what no pattern can say."""

    url: str
    rule: str
    pattern: str | None = None
    charset: str | None = None
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] = ()
    check: Callable[[Any], bool] | None = None


# --- documented constraints (the model is silent; each cites the API reference) ---------------------------------

_EC2 = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference"
_RDS = "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference"
_SG_CHARS = "a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*"
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
SG_TEXT = Documented(
    f"{_EC2}/API_CreateSecurityGroup.html",
    f"up to 255 of {_SG_CHARS}",
    charset=_ALNUM + " ._-:/()#,@[]+=&;{}!$*",
    high=255,
)
# A rule's description goes to whichever of IpRanges/Ipv6Ranges/UserIdGroupPairs/PrefixListIds the rule uses; the
# last two refuse `&`, so the intersection is the set that is always accepted.
SG_RULE_TEXT = Documented(
    f"{_EC2}/API_UserIdGroupPair.html",
    "up to 255 of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=;{}!$*",
    charset=_ALNUM + " ._-:/()#,@[]+=;{}!$*",
    high=255,
)
SG_NAME = Documented(
    f"{_EC2}/API_CreateSecurityGroup.html",
    f"up to 255 of {_SG_CHARS}, not starting with sg-",
    pattern=r"(?!sg-).*",
    charset=SG_TEXT.charset,
    high=255,
)
LT_NAME = Documented(
    f"{_EC2}/API_CreateLaunchTemplate.html", "3-128 of a-z, A-Z, 0-9 and ()./_-", pattern=r"[a-zA-Z0-9().\-/_]{3,128}"
)
FLOW_INTERVAL = Documented(f"{_EC2}/API_CreateFlowLogs.html", "60 or 600 seconds", values=(60, 600))
LOG_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
LOG_RETENTION = Documented(
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html",
    "one of " + ", ".join(map(str, LOG_DAYS)),
    values=LOG_DAYS,
)
_BACKUP = "https://docs.aws.amazon.com/aws-backup/latest/devguide"
BACKUP_PLAN_NAME = Documented(
    f"{_BACKUP}/API_BackupPlanInput.html", "1-50 of a-z, A-Z, 0-9 and -_.", pattern=r"[a-zA-Z0-9\-_.]{1,50}"
)
BACKUP_START = Documented(f"{_BACKUP}/API_BackupRuleInput.html", "at least 60 minutes", low=60)
BACKUP_COLD_STORAGE = Documented(
    f"{_BACKUP}/API_Lifecycle.html",
    "deleteAfter at least 90 days after coldStorageAfter",
    check=lambda life: (
        not isinstance(life, Mapping)
        or life.get("deleteAfter") is None
        or life.get("coldStorageAfter") in (None, 0)
        or int(life["deleteAfter"]) >= int(life["coldStorageAfter"]) + 90
    ),
)
LOCK_CHANGEABLE = Documented(
    f"{_BACKUP}/API_PutBackupVaultLockConfiguration.html", "3 to 36500 days", low=3, high=36500
)
ACCESS_ENTRY_TYPES = ("STANDARD", "FARGATE_LINUX", "EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX")
ACCESS_ENTRY_TYPE = Documented(
    "https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateAccessEntry.html",
    "one of " + ", ".join(ACCESS_ENTRY_TYPES),
    values=ACCESS_ENTRY_TYPES,
)
KMS_WINDOW = Documented(
    "https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html", "7 to 30 days", low=7, high=30
)
KMS_ALIAS = Documented(
    "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html",
    "alias/ followed by a-z, A-Z, 0-9 and /_-, not alias/aws/",
    pattern=r"alias/(?!aws/)[a-zA-Z0-9/_-]+",
)
# RDS identifiers: letters, digits and hyphens; a letter first; no trailing hyphen and no two consecutive ones.
_RDS_ID = r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]{{0,{n}}}(?<!-)"
RDS_CLUSTER_ID = Documented(
    f"{_RDS}/API_CreateDBCluster.html",
    "1-63 letters, digits or hyphens; a letter first; no -- and no trailing -",
    pattern=_RDS_ID.format(n=62),
)
RDS_INSTANCE_ID = Documented(
    f"{_RDS}/API_CreateDBInstance.html",
    "1-63 letters, digits or hyphens; a letter first; no -- and no trailing -",
    pattern=_RDS_ID.format(n=62),
)
RDS_SNAPSHOT_ID = Documented(
    f"{_RDS}/API_DeleteDBCluster.html",
    "1-255 letters, digits or hyphens; a letter first; no -- and no trailing -",
    pattern=_RDS_ID.format(n=254),
)
RDS_PARAMETER_GROUP = Documented(
    f"{_RDS}/API_CreateDBClusterParameterGroup.html",
    "1-255 letters, digits or hyphens; a letter first; no -- and no trailing -",
    pattern=_RDS_ID.format(n=254),
)
RDS_SUBNET_GROUP = Documented(
    f"{_RDS}/API_CreateDBSubnetGroup.html",
    "up to 255 letters, digits, periods, underscores, spaces or hyphens; a letter first; not default",
    pattern=r"(?!default$)[a-zA-Z][a-zA-Z0-9._ -]{0,254}",
)
RDS_MASTER_USER = Documented(
    f"{_RDS}/API_CreateDBCluster.html",
    "1-16 letters or digits; a letter first",
    pattern=r"[a-zA-Z][a-zA-Z0-9]{0,15}",
)
RDS_PORT = Documented(f"{_RDS}/API_CreateDBCluster.html", "1150 to 65535", low=1150, high=65535)
RDS_RETENTION = Documented(f"{_RDS}/API_CreateDBCluster.html", "1 to 35 days", low=1, high=35)
RDS_MIN_ACU = Documented(
    f"{_RDS}/API_ServerlessV2ScalingConfiguration.html",
    "0 to 256 ACUs in steps of 0.5",
    low=0,
    high=256,
    check=lambda v: float(v) * 2 == int(float(v) * 2),
)
RDS_MAX_ACU = Documented(
    f"{_RDS}/API_ServerlessV2ScalingConfiguration.html",
    "1 to 256 ACUs in steps of 0.5",
    low=1,
    high=256,
    check=lambda v: float(v) * 2 == int(float(v) * 2),
)
RDS_MONITORING = Documented(
    f"{_RDS}/API_CreateDBInstance.html", "0, 1, 5, 10, 15, 30 or 60 seconds", values=(0, 1, 5, 10, 15, 30, 60)
)
RDS_PROMOTION = Documented(f"{_RDS}/API_CreateDBInstance.html", "0 to 15", low=0, high=15)
RDS_PI_RETENTION = Documented(
    f"{_RDS}/API_CreateDBInstance.html",
    "7, 731, or a multiple of 31 up to 713 (months 1-23)",
    check=lambda v: int(v) in (7, 731) or (int(v) % 31 == 0 and 1 <= int(v) // 31 <= 23),
)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minute_of(text: str, weekly: bool) -> int | None:
    """Minutes since Monday 00:00 (weekly `ddd:hh24:mi`) or since midnight (daily `hh24:mi`); None if malformed."""
    parts = text.split(":")
    day = 0
    if weekly:
        if len(parts) != 3 or parts[0].lower() not in _DAYS:
            return None
        day, parts = _DAYS.index(parts[0].lower()), parts[1:]
    if len(parts) != 2 or not all(len(p) == 2 and p.isdigit() for p in parts):
        return None
    hour, minute = int(parts[0]), int(parts[1])
    return None if hour > 23 or minute > 59 else day * 1440 + hour * 60 + minute


def window_ok(value: Any, weekly: bool) -> bool:
    """True for an RDS window in the documented format that lasts at least 30 minutes."""
    start, _, end = str(value).partition("-")
    first, last = _minute_of(start, weekly), _minute_of(end, weekly)
    return first is not None and last is not None and (last - first) % (10080 if weekly else 1440) >= 30


RDS_BACKUP_WINDOW = Documented(
    f"{_RDS}/API_CreateDBCluster.html",
    "hh24:mi-hh24:mi (UTC), at least 30 minutes",
    check=lambda v: window_ok(v, weekly=False),
)
RDS_MAINTENANCE_WINDOW = Documented(
    f"{_RDS}/API_CreateDBCluster.html",
    "ddd:hh24:mi-ddd:hh24:mi (UTC, ddd = Mon..Sun), at least 30 minutes",
    check=lambda v: window_ok(v, weekly=True),
)
_S3 = "https://docs.aws.amazon.com/AmazonS3/latest"
S3_BUCKET = Documented(
    f"{_S3}/userguide/bucketnamingrules.html",
    "3-63 of a-z, 0-9, . and -; a letter or digit first and last; no .., no IP address, no reserved prefix or suffix",
    pattern=(
        r"(?!xn--|sthree-|amzn-s3-demo-)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)"
        r"(?!.*(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
    ),
)
S3_POSITIVE_DAYS = Documented(f"{_S3}/API/API_LifecycleExpiration.html", "a positive whole number of days", low=1)
S3_TRANSITION_DAYS = Documented(f"{_S3}/API/API_Transition.html", "zero or more days", low=0)
S3_IA_TRANSITION = Documented(
    f"{_S3}/userguide/lifecycle-transition-general-considerations.html",
    "STANDARD_IA and ONEZONE_IA transitions at 30 days or more",
    check=lambda t: (
        not isinstance(t, Mapping)
        or t.get("storageClass") not in ("STANDARD_IA", "ONEZONE_IA")
        or t.get("days") is None
        or int(t["days"]) >= 30
    ),
)
S3_RULE_ID = Documented(f"{_S3}/API/API_LifecycleRule.html", "up to 255 characters", high=255)
SNS_TOPIC = Documented(
    "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html",
    "1-256 of a-z, A-Z, 0-9, _ and - (a FIFO topic ends in .fifo)",
    pattern=r"[A-Za-z0-9_-]{1,256}|[A-Za-z0-9_-]{1,251}\.fifo",
)
_SQS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"
SQS_QUEUE = Documented(
    _SQS,
    "1-80 of a-z, A-Z, 0-9, _ and - (a FIFO queue ends in .fifo)",
    pattern=r"[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo",
)
SQS_RETENTION = Documented(_SQS, "60 to 1209600 seconds", low=60, high=1209600)
SQS_DELAY = Documented(_SQS, "0 to 900 seconds", low=0, high=900)
SQS_VISIBILITY = Documented(_SQS, "0 to 43200 seconds", low=0, high=43200)
SQS_WAIT = Documented(_SQS, "0 to 20 seconds", low=0, high=20)
SQS_SIZE = Documented(_SQS, "1024 to 1048576 bytes", low=1024, high=1048576)
SECRET_NAME = Documented(
    "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html",
    "ASCII letters, digits and /_+=.@-",
    pattern=r"[A-Za-z0-9/_+=.@-]+",
)
_CLOUDWATCH = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference"
CW_PERIOD = Documented(
    f"{_CLOUDWATCH}/API_PutMetricAlarm.html",
    "10, 20, 30 or a multiple of 60 seconds",
    check=lambda seconds: int(seconds) in (10, 20, 30) or (int(seconds) > 0 and int(seconds) % 60 == 0),
)
CW_MISSING_DATA = Documented(
    f"{_CLOUDWATCH}/API_PutMetricAlarm.html",
    "one of breaching, notBreaching, ignore, missing",
    values=("breaching", "notBreaching", "ignore", "missing"),
)
CW_QUERY_ID = Documented(
    f"{_CLOUDWATCH}/API_MetricDataQuery.html",
    "a lowercase letter, then letters, digits and _",
    pattern=r"[a-z][a-zA-Z0-9_]{0,254}",
)
CW_DASHBOARD = Documented(
    f"{_CLOUDWATCH}/API_PutDashboard.html", "1-255 of a-z, A-Z, 0-9, - and _", pattern=r"[A-Za-z0-9_-]{1,255}"
)
SNS_PROTOCOLS = ("http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose")
SNS_PROTOCOL = Documented(
    "https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html",
    "one of " + ", ".join(SNS_PROTOCOLS),
    values=SNS_PROTOCOLS,
)
_ROUTE53 = "https://docs.aws.amazon.com/Route53/latest/APIReference"
R53_HC_INTERVAL = Documented(
    f"{_ROUTE53}/API_HealthCheckConfig.html", "10 (fast) or 30 (standard) seconds", values=(10, 30)
)
R53_HC_PATH = Documented(
    f"{_ROUTE53}/API_HealthCheckConfig.html",
    "a path starting with /, at most 255 characters",
    pattern=r"/.{0,254}",
)
R53_SET_ID = Documented(f"{_ROUTE53}/API_ResourceRecordSet.html", "1-128 characters", low=1, high=128)
R53_TTL = Documented(f"{_ROUTE53}/API_ResourceRecordSet.html", "0 to 2147483647 seconds", low=0, high=2147483647)
R53_ZONE_COMMENT = Documented(f"{_ROUTE53}/API_HostedZoneConfig.html", "at most 256 characters", high=256)
ACM_KEY_ALGORITHMS = ("RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1")
ACM_KEY_ALGORITHM = Documented(
    "https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html",
    "one of " + ", ".join(ACM_KEY_ALGORITHMS) + " (RSA_1024 is for imported certificates only)",
    values=ACM_KEY_ALGORITHMS,
)
LOG_POLICY_NAME = Documented(
    "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutResourcePolicy.html",
    "1-255 characters",
    low=1,
    high=255,
)
R53_QUERY_LOG_GROUP = Documented(
    f"{_ROUTE53}/API_CreateQueryLoggingConfig.html",
    "the ARN of a log group in us-east-1 (Route 53 delivers query logs there only)",
    pattern=r"arn:aws[a-z-]*:logs:us-east-1:[0-9]{12}:log-group:[^:]+(:\*)?",
)
TRAIL_NAME = Documented(
    "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html",
    "3-128 of a-z, A-Z, 0-9 and ._-, starting and ending with a letter or digit, no two of ._- adjacent",
    pattern=r"(?!.*[._-]{2})[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]",
)
SECURITYHUB_STANDARD = Documented(
    "https://docs.aws.amazon.com/securityhub/latest/userguide/standards-reference.html",
    "a standard's ARN: arn:<partition>:securityhub:<region>::standards/<name>/v/<version> (CIS 1.2.0: "
    "arn:<partition>:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0)",
    pattern=r"arn:aws(-[a-z]+)*:securityhub:([a-z]{2}(-[a-z]+)+-\d::standards|::ruleset)/[a-z0-9-]+/v/\d+\.\d+\.\d+",
)
DYNAMODB_TABLE = Documented(
    "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html",
    "3-255 of a-z, A-Z, 0-9 and _.-",
    pattern=r"[a-zA-Z0-9_.-]{3,255}",
)
# The model allows 5400 s (durable functions); a standard function's timeout is at most 900 seconds.
LAMBDA_TIMEOUT = Documented(
    "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html", "1 to 900 seconds", low=1, high=900
)
LAMBDA_NAME = Documented(
    "https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html",
    "1-64 of a-z, A-Z, 0-9, - and _ (a name, not an ARN)",
    pattern=r"[a-zA-Z0-9_-]{1,64}",
)
