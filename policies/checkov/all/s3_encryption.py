"""Narrower replacement for CKV_AWS_145, which .checkov.yaml skips because of one bucket."""
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def first(value, default=None):
    if isinstance(value, list):
        return value[0] if value else default
    return value if value is not None else default


class S3KmsExceptAccessLogTargets(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="S3 buckets use SSE-KMS; only server-access-log targets (which S3 requires to be SSE-S3) may use AES256",
            id="CKV_SDP_3",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_s3_bucket_server_side_encryption_configuration"],
        )

    def scan_resource_conf(self, conf):
        rule = first(conf.get("rule"), {}) or {}
        default = first(rule.get("apply_server_side_encryption_by_default"), {}) or {}
        algorithm = first(default.get("sse_algorithm"))
        if algorithm in ("aws:kms", "aws:kms:dsse"):
            return CheckResult.PASSED
        bucket = str(first(conf.get("bucket"), ""))
        return CheckResult.PASSED if "access-logs" in bucket else CheckResult.FAILED


check = S3KmsExceptAccessLogTargets()
