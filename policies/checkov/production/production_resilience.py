"""Project checks run on production stacks only (scripts/ci/checkov.sh passes prod's directory)."""
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def first(value, default=None):
    if isinstance(value, list):
        return value[0] if value else default
    return value if value is not None else default


class KeyspacesPointInTimeRecovery(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="Production Keyspaces tables have point-in-time recovery enabled",
            id="CKV_SDP_101",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_keyspaces_table"],
        )

    def scan_resource_conf(self, conf):
        pitr = first(conf.get("point_in_time_recovery"), {}) or {}
        return CheckResult.PASSED if first(pitr.get("status")) == "ENABLED" else CheckResult.FAILED


class MskMinInsyncReplicas(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="Production MSK configuration requires min.insync.replicas >= 2",
            id="CKV_SDP_102",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_msk_configuration"],
        )

    def scan_resource_conf(self, conf):
        text = str(first(conf.get("server_properties"), ""))
        for line in text.splitlines():
            if line.strip().startswith("min.insync.replicas="):
                try:
                    return CheckResult.PASSED if int(line.split("=", 1)[1]) >= 2 else CheckResult.FAILED
                except ValueError:
                    return CheckResult.FAILED
        return CheckResult.FAILED


DATA_STORES = [
    "aws_msk_cluster",
    "aws_keyspaces_keyspace",
    "aws_keyspaces_table",
    "aws_s3_bucket",
    "aws_kms_key",
    "aws_eks_cluster",
]


class DataStorePreventDestroy(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="Production data stores set lifecycle.prevent_destroy",
            id="CKV_SDP_103",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=DATA_STORES,
        )

    def scan_resource_conf(self, conf):
        lifecycle = first(conf.get("lifecycle"), {}) or {}
        return CheckResult.PASSED if first(lifecycle.get("prevent_destroy")) is True else CheckResult.FAILED


check_pitr = KeyspacesPointInTimeRecovery()
check_min_isr = MskMinInsyncReplicas()
check_prevent_destroy = DataStorePreventDestroy()


class LogGroupRetentionOneYear(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="Production CloudWatch log groups keep logs for at least a year (replaces CKV_AWS_338 in prod)",
            id="CKV_SDP_104",
            categories=[CheckCategories.LOGGING],
            supported_resources=["aws_cloudwatch_log_group"],
        )

    def scan_resource_conf(self, conf):
        days = first(conf.get("retention_in_days"), 0)
        try:
            return CheckResult.PASSED if int(days) == 0 or int(days) >= 365 else CheckResult.FAILED
        except (TypeError, ValueError):
            return CheckResult.FAILED


check_log_retention = LogGroupRetentionOneYear()


class EksEndpointNotOpenToTheInternet(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="Production EKS API endpoint is private, or public only to listed CIDRs (replaces CKV_AWS_38/39 in prod)",
            id="CKV_SDP_105",
            categories=[CheckCategories.NETWORKING],
            supported_resources=["aws_eks_cluster"],
        )

    def scan_resource_conf(self, conf):
        vpc = first(conf.get("vpc_config"), {}) or {}
        if first(vpc.get("endpoint_public_access"), True) is False:
            return CheckResult.PASSED
        cidrs = vpc.get("public_access_cidrs") or []
        if cidrs and isinstance(cidrs[0], list):
            cidrs = cidrs[0]
        return CheckResult.PASSED if cidrs and "0.0.0.0/0" not in cidrs else CheckResult.FAILED


check_eks_endpoint = EksEndpointNotOpenToTheInternet()
