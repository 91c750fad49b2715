"""Project checks for every environment: MSK broker settings checkov does not cover."""
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def server_properties(conf):
    raw = conf.get("server_properties", [""])
    text = raw[0] if isinstance(raw, list) else raw
    props = {}
    for line in str(text).splitlines():
        if "=" in line and not line.strip().startswith("#"):
            key, value = line.split("=", 1)
            props[key.strip()] = value.strip()
    return props


class MskUncleanLeaderElectionDisabled(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="MSK configuration disables unclean leader election (an out-of-sync replica must never become leader)",
            id="CKV_SDP_1",
            categories=[CheckCategories.BACKUP_AND_RECOVERY],
            supported_resources=["aws_msk_configuration"],
        )

    def scan_resource_conf(self, conf):
        value = server_properties(conf).get("unclean.leader.election.enable")
        return CheckResult.PASSED if value == "false" else CheckResult.FAILED


class MskAutoCreateTopicsDisabled(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="MSK configuration disables topic auto-creation (topics are declared in apps/contracts/topics.ts)",
            id="CKV_SDP_2",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_msk_configuration"],
        )

    def scan_resource_conf(self, conf):
        value = server_properties(conf).get("auto.create.topics.enable")
        return CheckResult.PASSED if value == "false" else CheckResult.FAILED


check_unclean = MskUncleanLeaderElectionDisabled()
check_autocreate = MskAutoCreateTopicsDisabled()
