"""Realistic answers of the offline engine (`ops.engine`): what AWS and the providers report for a lookup (invoke)
or for a resource once it is created (its computed outputs: ids, ARNs, URLs, endpoints).

Extend `INVOKES` when the program needs a new lookup (an unknown one is an error, not a silent `{}`), and `OUTPUTS`
when a component reads a computed output the echoed inputs do not provide. In preview mode the engine uses none of
`OUTPUTS`: nothing is created yet.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

MOCK_ACCOUNT_ID = "123456789012"
_AZ_LETTERS = {"us-east-1": "abcdef", "us-west-1": "bc"}


def _availability_zones(region: str) -> dict[str, Any]:
    letters = _AZ_LETTERS.get(region, "abc" if region.startswith(("ap-northeast-2", "sa-")) else "abcd")
    prefix = "".join(word[0] for word in region.split("-")[:2]) + region.rsplit("-", 1)[1]
    return {
        "id": region,
        "names": [f"{region}{letter}" for letter in letters],
        "zoneIds": [f"{prefix}-az{i + 1}" for i in range(len(letters))],
        "state": "available",
        "groupNames": [region],
    }


def _partition(region: str) -> dict[str, Any]:
    if region.startswith("cn-"):
        return {"id": "aws-cn", "partition": "aws-cn", "dnsSuffix": "amazonaws.com.cn",
                "reverseDnsPrefix": "cn.com.amazonaws"}  # fmt: skip
    if region.startswith("us-gov-"):
        return {"id": "aws-us-gov", "partition": "aws-us-gov", "dnsSuffix": "amazonaws.com",
                "reverseDnsPrefix": "com.amazonaws"}  # fmt: skip
    return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}


# Invoke token -> answer(args, region). Extend here when the program needs a new lookup.
INVOKES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda _a, region: {
        "accountId": MOCK_ACCOUNT_ID,
        "arn": f"arn:{_partition(region)['partition']}:iam::{MOCK_ACCOUNT_ID}:role/deployer",
        "userId": "AROAEXAMPLEDEPLOYER:ci",
        "id": MOCK_ACCOUNT_ID,
    },
    "aws:index/getPartition:getPartition": lambda _a, region: _partition(region),
    "aws:index/getRegion:getRegion": lambda _a, region: {
        "id": region,
        "name": region,
        "region": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region,
    },
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda _a, region: _availability_zones(region),
    "github:index/getTeam:getTeam": lambda args, _r: _github_team(str(args.get("slug", ""))),
    "github:index/getUser:getUser": lambda args, _r: _github_user(str(args.get("username", ""))),
}


def _github_id(name: str) -> int:
    """A stable numeric id for a GitHub team or user name (GitHub's ids are positive integers)."""
    return 1_000_000 + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16)


def _github_team(slug: str) -> dict[str, Any]:
    """What `GET /orgs/{org}/teams/{slug}` tells the provider's github_team data source (summary only)."""
    team_id = _github_id(f"team:{slug}")
    return {"id": str(team_id), "nodeId": f"T_kwDOB{team_id}", "slug": slug, "name": slug, "description": "",
            "privacy": "closed", "permission": "pull", "members": [], "repositories": [], "summaryOnly": True,
            "repositoriesDetaileds": [], "notificationSetting": "notifications_enabled"}  # fmt: skip


def _github_user(login: str) -> dict[str, Any]:
    """What `GET /users/{login}` tells the provider's github_user data source."""
    user_id = _github_id(f"user:{login}")
    return {"id": str(user_id), "nodeId": f"U_kgDOB{user_id}", "login": login, "username": login, "name": login,
            "avatarUrl": f"https://avatars.githubusercontent.com/u/{user_id}", "bio": "", "blog": "", "company": "",
            "email": "", "followers": 0, "following": 0, "gpgKeys": [], "gravatarId": "",
            "location": "", "publicGists": 0, "publicRepos": 0, "siteAdmin": False, "sshKeys": [],
            "suspendedAt": "", "createdAt": "2020-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}  # fmt: skip


def _arn_for(type_: str, name: str, region: str) -> str:
    """A plausible ARN for an AWS resource type token like `aws:kms/key:Key`."""
    service = type_.split(":")[1].split("/")[0]
    kind = type_.rsplit(":", 1)[1].lower()
    if service == "iam":
        return f"arn:aws:iam::{MOCK_ACCOUNT_ID}:{kind}/{name}"
    if service == "s3":
        return f"arn:aws:s3:::{name}"
    return f"arn:aws:{service}:{region}:{MOCK_ACCOUNT_ID}:{kind}/{name}"


def default_outputs(type_: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """Outputs echo the inputs; AWS resources also get the `arn` and `name` AWS would assign."""
    state = dict(inputs)
    if type_.startswith("aws:"):
        state.setdefault("arn", _arn_for(type_, inputs.get("name") or name, region))
        state.setdefault("name", name)
    return state


# Type token -> extra computed outputs(name, inputs, region); the platform's components add theirs here.
OUTPUTS: dict[str, Callable[[str, dict[str, Any], str], dict[str, Any]]] = {
    "aws:kms/key:Key": lambda name, inputs, region: _kms_key_outputs(name, inputs, region),
    # A replica of a multi-Region key has the primary's key id (`mrk-...`) in its own region.
    "aws:kms/replicaKey:ReplicaKey": lambda _n, inputs, region: {
        "keyId": str(inputs.get("primaryKeyArn", "")).rsplit("/", 1)[-1],
        "arn": f"arn:aws:kms:{region}:{MOCK_ACCOUNT_ID}:key/{str(inputs.get('primaryKeyArn', '')).rsplit('/', 1)[-1]}",
    },
    "aws:ec2/vpc:Vpc": lambda name, _i, _r: {"id": f"vpc-{name}", "defaultSecurityGroupId": f"sg-{name}-default"},
    "aws:ec2/eip:Eip": lambda name, _i, _r: {"allocationId": f"eipalloc-{name}", "publicIp": "203.0.113.10"},
    "aws:iam/role:Role": lambda name, _i, _r: {"uniqueId": f"AROA{name.upper()[:16]}"},
    "eks:index:Cluster": lambda name, inputs, region: _eks_cluster_outputs(name, inputs, region),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda _n, inputs, _r: {
        "arn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:oidc-provider/{str(inputs.get('url', '')).removeprefix('https://')}",
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda name, _i, _r: {"id": f"lt-{name}", "latestVersion": 1},
    "aws:sqs/queue:Queue": lambda name, inputs, region: {
        "arn": f"arn:aws:sqs:{region}:{MOCK_ACCOUNT_ID}:{inputs.get('name', name)}",
        "url": f"https://sqs.{region}.amazonaws.com/{MOCK_ACCOUNT_ID}/{inputs.get('name', name)}",
    },
    # Real-looking subnet ids: Karpenter's EC2NodeClass schema only accepts `subnet-<hex>`.
    "aws:ec2/subnet:Subnet": lambda name, _i, _r: {
        "id": "subnet-" + hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:17],
    },
    "aws:rds/cluster:Cluster": lambda name, inputs, region: _rds_cluster_outputs(name, inputs, region),
    "aws:s3/bucket:Bucket": lambda name, inputs, _r: {
        "id": inputs.get("bucket", name),
        "bucket": inputs.get("bucket", name),
        "arn": f"arn:aws:s3:::{inputs.get('bucket', name)}",
    },
    "aws:ec2/securityGroup:SecurityGroup": lambda name, _i, _r: {"id": f"sg-{name}"},
    "aws:backup/vault:Vault": lambda name, inputs, region: {
        "id": inputs.get("name", name),
        "arn": f"arn:aws:backup:{region}:{MOCK_ACCOUNT_ID}:backup-vault:{inputs.get('name', name)}",
    },
    "aws:backup/plan:Plan": lambda name, _i, region: {
        "id": f"{name}-plan-id",
        "arn": f"arn:aws:backup:{region}:{MOCK_ACCOUNT_ID}:backup-plan:{name}-plan-id",
    },
    "aws:sns/topic:Topic": lambda name, inputs, region: {
        "arn": f"arn:aws:sns:{region}:{MOCK_ACCOUNT_ID}:{inputs.get('name', name)}",
    },
    "aws:ecr/repository:Repository": lambda name, inputs, region: {
        "id": inputs.get("name", name),
        "registryId": MOCK_ACCOUNT_ID,
        "arn": f"arn:aws:ecr:{region}:{MOCK_ACCOUNT_ID}:repository/{inputs.get('name', name)}",
        "repositoryUrl": f"{MOCK_ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{inputs.get('name', name)}",
    },
    "aws:wafv2/webAcl:WebAcl": lambda name, inputs, region: {
        "id": f"{name}-id",
        "arn": f"arn:aws:wafv2:{region}:{MOCK_ACCOUNT_ID}:regional/webacl/{inputs.get('name', name)}/{name}-id",
    },
    "aws:wafv2/ipSet:IpSet": lambda name, inputs, region: {
        "id": f"{name}-id",
        "arn": f"arn:aws:wafv2:{region}:{MOCK_ACCOUNT_ID}:regional/ipset/{inputs.get('name', name)}/{name}-id",
    },
    "aws:lambda/function:Function": lambda name, inputs, region: {
        "arn": f"arn:aws:lambda:{region}:{MOCK_ACCOUNT_ID}:function:{inputs.get('name', name)}",
    },
    "aws:dynamodb/table:Table": lambda name, inputs, region: {
        "arn": f"arn:aws:dynamodb:{region}:{MOCK_ACCOUNT_ID}:table/{inputs.get('name', name)}",
    },
    "aws:cloudwatch/eventRule:EventRule": lambda name, inputs, region: {
        "arn": f"arn:aws:events:{region}:{MOCK_ACCOUNT_ID}:rule/{inputs.get('name', name)}",
    },
    # Secrets Manager appends six random characters to a secret's name in its ARN (`secret:<name>-AbCdEf`).
    "aws:secretsmanager/secret:Secret": lambda name, inputs, region: {
        "id": f"arn:aws:secretsmanager:{region}:{MOCK_ACCOUNT_ID}:secret:{inputs.get('name', name)}-AbCdEf",
        "arn": f"arn:aws:secretsmanager:{region}:{MOCK_ACCOUNT_ID}:secret:{inputs.get('name', name)}-AbCdEf",
    },
    "aws:rds/globalCluster:GlobalCluster": lambda name, inputs, _r: {
        "id": inputs.get("globalClusterIdentifier", name),
        "arn": f"arn:aws:rds::{MOCK_ACCOUNT_ID}:global-cluster:{inputs.get('globalClusterIdentifier', name)}",
        "globalClusterResourceId": "cluster-" + hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:20],
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda name, inputs, region: {
        "arn": f"arn:aws:logs:{region}:{MOCK_ACCOUNT_ID}:log-group:{inputs.get('name', name)}",
    },
    "aws:route53/zone:Zone": lambda name, inputs, _r: _zone_outputs(name, inputs),
    "aws:acm/certificate:Certificate": lambda name, inputs, region: _certificate_outputs(name, inputs, region),
    "aws:route53/record:Record": lambda _n, inputs, _r: {"fqdn": str(inputs.get("name", "")).rstrip(".")},
    "aws:route53/healthCheck:HealthCheck": lambda name, _i, _r: {"id": _uuid(name)},
    "kubernetes:networking.k8s.io/v1:Ingress": lambda name, inputs, region: _ingress_outputs(name, inputs, region),
}


def _uuid(seed: str) -> str:
    """A stable UUID-shaped id (health checks, certificates)."""
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"


def _zone_outputs(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A public hosted zone: its id (Z + 20 characters) and the four name servers Route 53 delegates to."""
    zone_id = "Z" + hashlib.sha256(name.encode()).hexdigest()[:20].upper()
    return {
        "id": zone_id,
        "zoneId": zone_id,
        "arn": f"arn:aws:route53:::hostedzone/{zone_id}",
        "nameServers": ["ns-1024.awsdns-00.org", "ns-1536.awsdns-00.co.uk", "ns-512.awsdns-00.net",
                        "ns-0.awsdns-00.com"],
    }  # fmt: skip


def _certificate_outputs(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """A requested ACM certificate: its ARN and, per name, the validation CNAME ACM asks for."""
    names = [inputs.get("domainName", ""), *(inputs.get("subjectAlternativeNames") or [])]

    def option(domain: str) -> dict[str, Any]:
        token = hashlib.sha256(domain.encode()).hexdigest()
        return {
            "domainName": domain,
            "resourceRecordName": f"_{token[:32]}.{domain}.",
            "resourceRecordType": "CNAME",
            "resourceRecordValue": f"_{token[32:64]}.xlfgrmvvlj.acm-validations.aws.",
        }

    return {
        "arn": f"arn:aws:acm:{region}:{MOCK_ACCOUNT_ID}:certificate/{_uuid(name)}",
        "domainValidationOptions": [option(domain) for domain in names],
        "status": "PENDING_VALIDATION",
    }


def _ingress_outputs(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """An ALB Ingress once the AWS Load Balancer Controller has created its load balancer: the status names it."""
    annotations = (inputs.get("metadata") or {}).get("annotations") or {}
    lb_name = annotations.get("alb.ingress.kubernetes.io/load-balancer-name")
    if annotations.get("alb.ingress.kubernetes.io/scheme") is None or not lb_name:
        return {}
    number = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 10**10
    return {"status": {"loadBalancer": {"ingress": [{"hostname": f"{lb_name}-{number}.{region}.elb.amazonaws.com"}]}}}


def _kms_key_outputs(name: str, inputs: dict[str, Any], _region: str) -> dict[str, Any]:
    """A key's id and ARN; a multi-Region key's id starts `mrk-` followed by 32 hex digits, as KMS makes them."""
    key_id = f"{name}-key-id"
    if inputs.get("multiRegion"):
        key_id = "mrk-" + hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()
    return {"keyId": key_id, "arn": f"arn:aws:kms:{_region}:{MOCK_ACCOUNT_ID}:key/{key_id}"}


def _rds_cluster_outputs(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """What RDS reports for an Aurora cluster, including the managed master secret (`rds!cluster-<uuid>`)."""
    identifier = inputs.get("clusterIdentifier", name)
    resource_id = "cluster-" + hashlib.sha256(identifier.encode()).hexdigest()[:26].upper()
    secrets = []
    if inputs.get("manageMasterUserPassword"):
        secret_name = f"rds!{resource_id.lower()}-AbCdEf"
        secrets = [
            {
                "secretArn": f"arn:aws:secretsmanager:{region}:{MOCK_ACCOUNT_ID}:secret:{secret_name}",
                "secretStatus": "active",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
            }
        ]
    return {
        "id": identifier,
        "clusterIdentifier": identifier,
        "clusterResourceId": resource_id,
        "arn": f"arn:aws:rds:{region}:{MOCK_ACCOUNT_ID}:cluster:{identifier}",
        "endpoint": f"{identifier}.cluster-c0ffee123456.{region}.rds.amazonaws.com",
        "readerEndpoint": f"{identifier}.cluster-ro-c0ffee123456.{region}.rds.amazonaws.com",
        "port": inputs.get("port", 5432),
        "masterUserSecrets": secrets,
    }


def _eks_cluster_outputs(name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    """What `pulumi_eks.Cluster` reports once created: endpoint, OIDC issuer/provider, security groups, kubeconfig."""
    cluster = inputs.get("name") or name
    oidc_id = hashlib.md5(cluster.encode(), usedforsecurity=False).hexdigest().upper()
    issuer = f"oidc.eks.{region}.amazonaws.com/id/{oidc_id}"
    endpoint = f"https://{oidc_id}.gr7.{region}.eks.amazonaws.com"
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubernetes",
                      "cluster": {"server": endpoint, "certificate-authority-data": "LS0tLS1CRUdJTg=="}}],
        "contexts": [{"name": "aws", "context": {"cluster": "kubernetes", "user": "aws"}}],
        "current-context": "aws",
        "users": [{"name": "aws", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster, "--output", "json"]}}}],
    }  # fmt: skip
    return {
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "oidcIssuer": issuer,
        "oidcProviderUrl": f"https://{issuer}",
        # pulumi-eks reports a provider ARN only when it created the provider itself.
        "oidcProviderArn": f"arn:aws:iam::{MOCK_ACCOUNT_ID}:oidc-provider/{issuer}"
        if inputs.get("createOidcProvider")
        else "",
        "clusterSecurityGroupId": f"sg-{cluster}-cluster",
        "nodeSecurityGroupId": f"sg-{cluster}-node",
    }
