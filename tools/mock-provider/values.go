package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// environment is the fake account the values are made in: the aws provider's region, its first
// allowed account and its default tags; the defaults stand in until a provider says otherwise.
type environment struct {
	region      string
	account     string
	defaultTags map[string]tftypes.Value
}

func defaultEnvironment() environment {
	return environment{region: "us-east-1", account: "123456789012", defaultTags: map[string]tftypes.Value{}}
}

func (e *environment) configure(config tftypes.Value) {
	var attrs map[string]tftypes.Value
	if config.As(&attrs) != nil {
		return
	}
	if s, ok := knownString(attrs["region"]); ok && s != "" {
		e.region = s
	}
	var accounts []tftypes.Value
	if v, ok := attrs["allowed_account_ids"]; ok && v.IsKnown() && !v.IsNull() && v.As(&accounts) == nil && len(accounts) > 0 {
		if s, ok := knownString(accounts[0]); ok {
			e.account = s
		}
	}
	var blocks []tftypes.Value
	if v, ok := attrs["default_tags"]; ok && v.IsKnown() && !v.IsNull() && v.As(&blocks) == nil && len(blocks) > 0 {
		var block map[string]tftypes.Value
		if blocks[0].As(&block) == nil && block["tags"].IsKnown() && !block["tags"].IsNull() {
			_ = block["tags"].As(&e.defaultTags)
		}
	}
}

func knownString(v tftypes.Value) (string, bool) {
	var s string
	if !v.IsKnown() || v.IsNull() || v.As(&s) != nil {
		return "", false
	}
	return s, true
}

// faker makes the values of one object: seeded by its type and its known values, so the same
// configuration always gets the same ids.
type faker struct {
	env      *environment
	typeName string
	seed     string
	name     string
	attrs    map[string]tftypes.Value
}

func (e *environment) fill(typeName string, block *jsonBlock, value tftypes.Value, isData bool) (tftypes.Value, error) {
	f := &faker{env: e, typeName: typeName, seed: typeName + value.String()}
	if value.As(&f.attrs) == nil {
		for _, key := range []string{"name", "cluster_name", "bucket", "table_name", "keyspace_name", "repository_name", "role", "alarm_name"} {
			if s, ok := knownString(f.attrs[key]); ok && s != "" {
				f.name = s
				break
			}
		}
	}
	if f.name == "" {
		f.name = "mock-" + f.hex("name", 8)
	}
	return tftypes.Transform(value, func(path *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		return f.value(path, v.Type())
	})
}

func (f *faker) hex(salt string, n int) string {
	sum := sha256.Sum256([]byte(f.seed + "\x00" + salt))
	return hex.EncodeToString(sum[:])[:n]
}

func (f *faker) uuid(salt string) string {
	h := f.hex(salt, 32)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func lastAttribute(path *tftypes.AttributePath) string {
	steps := path.Steps()
	for i := len(steps) - 1; i >= 0; i-- {
		if name, ok := steps[i].(tftypes.AttributeName); ok {
			return string(name)
		}
	}
	return ""
}

func (f *faker) value(path *tftypes.AttributePath, t tftypes.Type) (tftypes.Value, error) {
	attr := lastAttribute(path)
	switch {
	case t.Is(tftypes.String):
		return tftypes.NewValue(t, f.str(attr, path.String())), nil
	case t.Is(tftypes.Number):
		return tftypes.NewValue(t, big.NewFloat(f.number(attr))), nil
	case t.Is(tftypes.Bool):
		return tftypes.NewValue(t, false), nil
	case t.Is(tftypes.Map{}):
		if attr == "tags_all" {
			return f.tagsAll(t), nil
		}
		return tftypes.NewValue(t, map[string]tftypes.Value{}), nil
	case t.Is(tftypes.List{}), t.Is(tftypes.Set{}):
		var elem tftypes.Type
		if l, ok := t.(tftypes.List); ok {
			elem = l.ElementType
		} else {
			elem = t.(tftypes.Set).ElementType
		}
		if names, ok := f.listOfStrings(attr); ok && elem.Is(tftypes.String) {
			vals := []tftypes.Value{}
			for _, n := range names {
				vals = append(vals, tftypes.NewValue(tftypes.String, n))
			}
			return tftypes.NewValue(t, vals), nil
		}
		if _, isObject := elem.(tftypes.Object); !isObject {
			return tftypes.NewValue(t, []tftypes.Value{}), nil
		}
		one, err := f.value(path.WithElementKeyInt(0), elem)
		if err != nil {
			return tftypes.Value{}, err
		}
		return tftypes.NewValue(t, []tftypes.Value{one}), nil
	case t.Is(tftypes.Object{}):
		vals := map[string]tftypes.Value{}
		for name, at := range t.(tftypes.Object).AttributeTypes {
			v, err := f.value(path.WithAttributeName(name), at)
			if err != nil {
				return tftypes.Value{}, err
			}
			vals[name] = v
		}
		return tftypes.NewValue(t, vals), nil
	}
	return tftypes.Value{}, fmt.Errorf("mock provider: no fake value for %s of type %s in %s", path, t, f.typeName)
}

func (f *faker) tagsAll(t tftypes.Type) tftypes.Value {
	merged := map[string]tftypes.Value{}
	for k, v := range f.env.defaultTags {
		merged[k] = v
	}
	var tags map[string]tftypes.Value
	if v, ok := f.attrs["tags"]; ok && v.IsKnown() && !v.IsNull() && v.As(&tags) == nil {
		for k, v := range tags {
			merged[k] = v
		}
	}
	return tftypes.NewValue(t, merged)
}

func (f *faker) listOfStrings(attr string) ([]string, bool) {
	r := f.env.region
	switch {
	case f.typeName == "aws_availability_zones" && attr == "names":
		return []string{r + "a", r + "b", r + "c"}, true
	case f.typeName == "aws_availability_zones" && attr == "zone_ids":
		return []string{"euw1-az1", "euw1-az2", "euw1-az3"}, true
	}
	return nil, false
}

func (f *faker) number(attr string) float64 {
	switch attr {
	case "latest_version", "generation", "revision":
		return 1
	}
	return 0
}

// awsServices names the ARN service of a resource type by its prefix; the default is ec2.
var awsServices = []struct{ prefix, service string }{
	{"aws_msk_", "kafka"}, {"aws_eks_", "eks"}, {"aws_iam_", "iam"}, {"aws_kms_", "kms"}, {"aws_s3_", "s3"},
	{"aws_keyspaces_", "cassandra"}, {"aws_sns_", "sns"}, {"aws_cloudwatch_log_", "logs"}, {"aws_cloudwatch_", "cloudwatch"},
	{"aws_glue_", "glue"}, {"aws_athena_", "athena"}, {"aws_ecr_", "ecr"}, {"aws_appautoscaling_", "application-autoscaling"},
	{"aws_sqs_", "sqs"}, {"aws_secretsmanager_", "secretsmanager"}, {"aws_lambda_", "lambda"},
}

// ec2IDPrefixes are the id prefixes EC2 gives its resources.
var ec2IDPrefixes = map[string]string{
	"aws_vpc": "vpc-", "aws_subnet": "subnet-", "aws_security_group": "sg-", "aws_default_security_group": "sg-",
	"aws_internet_gateway": "igw-", "aws_nat_gateway": "nat-", "aws_eip": "eipalloc-", "aws_route_table": "rtb-",
	"aws_vpc_endpoint": "vpce-", "aws_launch_template": "lt-", "aws_flow_log": "fl-", "aws_route_table_association": "rtbassoc-",
	"aws_vpc_security_group_ingress_rule": "sgr-", "aws_vpc_security_group_egress_rule": "sgr-", "aws_route": "r-",
}

func (f *faker) service() (string, string) {
	for _, s := range awsServices {
		if strings.HasPrefix(f.typeName, s.prefix) {
			return s.service, strings.TrimPrefix(f.typeName, s.prefix)
		}
	}
	return "ec2", strings.TrimPrefix(f.typeName, "aws_")
}

func (f *faker) arn() string {
	service, kind := f.service()
	region, account := f.env.region, f.env.account
	resource := strings.ReplaceAll(kind, "_", "-") + "/" + f.name
	switch service {
	case "iam":
		region = ""
	case "s3":
		region, account, resource = "", "", f.name
	case "kafka":
		resource = kind + "/" + f.name + "/" + f.uuid("cluster") + "-2"
	case "kms":
		resource = "key/" + f.uuid("key")
	case "cassandra":
		resource = "/keyspace/" + f.name + "/"
		if keyspace, ok := knownString(f.attrs["keyspace_name"]); ok && f.typeName == "aws_keyspaces_table" {
			resource = "/keyspace/" + keyspace + "/table/" + f.name
		}
	case "sns":
		resource = f.name
	case "logs":
		resource = "log-group:" + f.name
	}
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, resource)
}

// str is the fake string for an attribute, by what its name says it holds.
func (f *faker) str(attr, path string) string {
	r, acct := f.env.region, f.env.account
	if v, ok := f.dataSourceString(attr); ok {
		return v
	}
	switch {
	case attr == "id":
		if prefix, ok := ec2IDPrefixes[f.typeName]; ok {
			return prefix + f.hex(path, 17)
		}
		if f.typeName == "aws_kms_key" {
			return f.uuid("key")
		}
		if strings.HasPrefix(f.typeName, "aws_msk_") {
			return f.arn()
		}
		return f.name
	case attr == "arn" || strings.HasSuffix(attr, "_arn"):
		return f.arn()
	case attr == "key_id":
		return f.uuid("key")
	case strings.HasPrefix(attr, "bootstrap_brokers"):
		cluster := f.hex("brokers", 6)
		return fmt.Sprintf("b-1.%s.%s.c2.kafka.%s.amazonaws.com:9098,b-2.%s.%s.c2.kafka.%s.amazonaws.com:9098", f.name, cluster, r, f.name, cluster, r)
	case attr == "endpoint" && f.typeName == "aws_eks_cluster":
		return fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(f.hex("endpoint", 32)), r)
	case attr == "issuer":
		return fmt.Sprintf("https://oidc.eks.%s.amazonaws.com/id/%s", r, strings.ToUpper(f.hex("oidc", 32)))
	case attr == "data":
		return base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nmock " + f.hex("ca", 16) + "\n-----END CERTIFICATE-----\n"))
	case attr == "owner_id" || attr == "account_id":
		return acct
	case attr == "region":
		return r
	case attr == "uid":
		return f.uuid(path)
	case attr == "resource_version":
		return "1"
	case attr == "status":
		return "ACTIVE"
	case strings.HasSuffix(attr, "_url") || attr == "url":
		return fmt.Sprintf("https://%s.%s.amazonaws.com/%s", f.hex(path, 8), r, f.name)
	}
	return "mock-" + f.hex(path, 12)
}

// eksAddonVersions are plausible current add-on versions for aws_eks_addon_version.
var eksAddonVersions = map[string]string{
	"vpc-cni": "v1.19.2-eksbuild.1", "coredns": "v1.11.4-eksbuild.2", "kube-proxy": "v1.32.0-eksbuild.2",
	"aws-ebs-csi-driver": "v1.38.1-eksbuild.2", "eks-pod-identity-agent": "v1.3.4-eksbuild.1",
}

func (f *faker) dataSourceString(attr string) (string, bool) {
	r, acct := f.env.region, f.env.account
	switch f.typeName {
	case "aws_caller_identity":
		return map[string]string{"account_id": acct, "id": acct, "arn": "arn:aws:sts::" + acct + ":assumed-role/sdp-mock/terraform", "user_id": "AROAMOCKMOCKMOCK:terraform"}[attr], true
	case "aws_partition":
		return map[string]string{"partition": "aws", "id": "aws", "dns_suffix": "amazonaws.com", "reverse_dns_prefix": "com.amazonaws"}[attr], true
	case "aws_region":
		return map[string]string{"name": r, "region": r, "id": r, "endpoint": "ec2." + r + ".amazonaws.com", "description": r}[attr], true
	case "aws_availability_zones":
		if attr == "id" {
			return r, true
		}
	case "aws_eks_addon_version":
		if attr == "version" {
			name, _ := knownString(f.attrs["addon_name"])
			if v, ok := eksAddonVersions[name]; ok {
				return v, true
			}
			return "v1.0.0-eksbuild.1", true
		}
		if attr == "id" {
			name, _ := knownString(f.attrs["addon_name"])
			return name, true
		}
	case "aws_iam_policy_document":
		if attr == "json" || attr == "minified_json" {
			return policyDocumentJSON(f.attrs, attr == "json"), true
		}
		if attr == "id" {
			return f.hex("policy", 10), true
		}
	}
	return "", false
}
