package main

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The real providers' plan-time validators are not in the cdktf bindings, so the mock carries a
// curated copy of the ones that guard our resources: without them, a value the real aws provider
// rejects at `terraform plan` (a Keyspaces column type, a name pattern) passes here and fails on
// the first real deploy. Each rule names the provider source file it was copied from; messages
// follow terraform-plugin-sdk's helper/validation wording, so the failure reads as the real one.
//
// Copied from hashicorp/terraform-provider-aws, the versions the stacks pin (6.25.0's schema):
//   - table.go: internal/service/keyspaces/table.go (the aws-sdk-go-v2 / regexache revision,
//     whose attribute set is exactly the 6.25.0 bindings' aws_keyspaces_table).
//   - keyspace.go: internal/service/keyspaces/keyspace.go (name); replication_strategy is the
//     Keyspaces API's Rs enum, which the provider validates with enum.Validate.
const (
	keyspacesTableSource    = "terraform-provider-aws v6.25.0 internal/service/keyspaces/table.go"
	keyspacesKeyspaceSource = "terraform-provider-aws v6.25.0 internal/service/keyspaces/keyspace.go"
)

// check returns "" when the value is valid, else the provider's message for attribute key k.
type check func(k string, v tftypes.Value) string

type attributeRule struct {
	// path names the attribute from the resource's root, through nested blocks.
	path   []string
	check  check
	source string
}

var (
	keyspacesColumnName = stringMatch(`^[0-9a-z_]{1,48}$`, "The column name can have up to 48 characters. It can only contain lowercase alpha-numeric characters and underscores.")
	keyspacesColumnType = stringMatch(`^[0-9a-z]+(\<[0-9a-z]+(, *[0-9a-z]+){0,1}\>)?$`,
		"The type must consist of lower case alphanumerics and an optional list of upto two lower case alphanumerics enclosed in angle brackets '<>'.")
)

var resourceRules = map[string][]attributeRule{
	"aws_keyspaces_table": {
		{[]string{"keyspace_name"}, stringMatch(`^[0-9A-Za-z][0-9A-Za-z_]{0,47}$`,
			"The keyspace name can have up to 48 characters. It must begin with an alpha-numeric character and can only contain alpha-numeric characters and underscores."), keyspacesTableSource},
		{[]string{"table_name"}, stringMatch(`^[0-9A-Za-z_]{1,48}$`, "The table name can have up to 48 characters. It can only contain alpha-numeric characters and underscores."), keyspacesTableSource},
		{[]string{"default_time_to_live"}, intBetween(1, 630720000), keyspacesTableSource},
		{[]string{"capacity_specification", "read_capacity_units"}, intAtLeast(1), keyspacesTableSource},
		{[]string{"capacity_specification", "write_capacity_units"}, intAtLeast(1), keyspacesTableSource},
		{[]string{"capacity_specification", "throughput_mode"}, stringInSlice("PAY_PER_REQUEST", "PROVISIONED"), keyspacesTableSource},
		{[]string{"client_side_timestamps", "status"}, stringInSlice("ENABLED"), keyspacesTableSource},
		{[]string{"encryption_specification", "kms_key_identifier"}, validARN, keyspacesTableSource},
		{[]string{"encryption_specification", "type"}, stringInSlice("AWS_OWNED_KMS_KEY", "CUSTOMER_MANAGED_KMS_KEY"), keyspacesTableSource},
		{[]string{"point_in_time_recovery", "status"}, stringInSlice("ENABLED", "DISABLED"), keyspacesTableSource},
		{[]string{"schema_definition", "clustering_key", "name"}, keyspacesColumnName, keyspacesTableSource},
		{[]string{"schema_definition", "clustering_key", "order_by"}, stringInSlice("ASC", "DESC"), keyspacesTableSource},
		{[]string{"schema_definition", "column", "name"}, keyspacesColumnName, keyspacesTableSource},
		{[]string{"schema_definition", "column", "type"}, keyspacesColumnType, keyspacesTableSource},
		{[]string{"schema_definition", "partition_key", "name"}, keyspacesColumnName, keyspacesTableSource},
		{[]string{"schema_definition", "static_column", "name"}, keyspacesColumnName, keyspacesTableSource},
		{[]string{"ttl", "status"}, stringInSlice("ENABLED"), keyspacesTableSource},
	},
	"aws_keyspaces_keyspace": {
		{[]string{"name"}, all(stringLenBetween(1, 48), stringMatch(`^[a-zA-Z0-9][a-zA-Z0-9_]{1,47}$`, "The name must consist of alphanumerics and underscores.")), keyspacesKeyspaceSource},
		{[]string{"replication_specification", "replication_strategy"}, stringInSlice("SINGLE_REGION", "MULTI_REGION"), keyspacesKeyspaceSource},
	},
}

// checkRulePaths fails when a rule names an attribute that the served schema lacks, so that a
// provider upgrade that renames one cannot silently switch its validator off.
func checkRulePaths(schema *providerSchema) error {
	for _, typeName := range sortedKeys(resourceRules) {
		entry, ok := schema.ResourceSchemas[typeName]
		if !ok {
			continue // the stacks do not use this type
		}
		for _, rule := range resourceRules[typeName] {
			block := &entry.Block
			for i, name := range rule.path {
				if nested, ok := block.BlockTypes[name]; ok && i < len(rule.path)-1 {
					block = &nested.Block
					continue
				}
				if _, ok := block.Attributes[name]; !ok || i < len(rule.path)-1 {
					return fmt.Errorf("mock provider: validator for %s.%s (from %s) names no attribute of the schema", typeName, strings.Join(rule.path, "."), rule.source)
				}
			}
		}
	}
	return nil
}

// validateResource runs the rules of one resource type on its configuration. Unknown and null
// values are skipped, as the SDK does: they are validated once known.
func validateResource(typeName string, config tftypes.Value) []*tfprotov5.Diagnostic {
	var diags []*tfprotov5.Diagnostic
	for _, rule := range resourceRules[typeName] {
		visit(config, rule.path, tftypes.NewAttributePath(), nil, func(path *tftypes.AttributePath, key []string, v tftypes.Value) {
			if !v.IsKnown() || v.IsNull() {
				return
			}
			if msg := rule.check(strings.Join(key, "."), v); msg != "" {
				diags = append(diags, &tfprotov5.Diagnostic{
					Severity:  tfprotov5.DiagnosticSeverityError,
					Summary:   msg,
					Detail:    fmt.Sprintf("%s: value %s. The mock provider copies this validator from %s.", typeName, shown(v), rule.source),
					Attribute: path,
				})
			}
		})
	}
	return diags
}

// visit calls fn with every value that names reaches through nested blocks, each with its protocol
// path and its SDK-style key (`schema_definition.0.column.type`: list blocks by index; set
// elements have no address, so a path stops at the set, as the SDK's diagnostics do).
func visit(v tftypes.Value, names []string, path *tftypes.AttributePath, key []string, fn func(*tftypes.AttributePath, []string, tftypes.Value)) {
	if len(names) == 0 {
		fn(path, key, v)
		return
	}
	var attrs map[string]tftypes.Value
	if !v.IsKnown() || v.IsNull() || v.As(&attrs) != nil {
		return
	}
	child, ok := attrs[names[0]]
	if !ok || !child.IsKnown() || child.IsNull() {
		return
	}
	childPath, childKey := path.WithAttributeName(names[0]), append(slices.Clone(key), names[0])
	var elems []tftypes.Value
	switch {
	case child.Type().Is(tftypes.List{}):
		_ = child.As(&elems)
		for i, e := range elems {
			visit(e, names[1:], childPath.WithElementKeyInt(i), append(slices.Clone(childKey), fmt.Sprint(i)), fn)
		}
	case child.Type().Is(tftypes.Set{}):
		_ = child.As(&elems)
		for _, e := range elems {
			visit(e, names[1:], childPath, childKey, fn)
		}
	default:
		visit(child, names[1:], childPath, childKey, fn)
	}
}

func shown(v tftypes.Value) string {
	if s, ok := stringValue(v); ok {
		return fmt.Sprintf("%q", s)
	}
	if n, ok := intValue(v); ok {
		return fmt.Sprint(n)
	}
	return v.String()
}

func stringValue(v tftypes.Value) (string, bool) {
	var s string
	return s, v.Type().Is(tftypes.String) && v.As(&s) == nil
}

func intValue(v tftypes.Value) (int64, bool) {
	var n big.Float
	if !v.Type().Is(tftypes.Number) || v.As(&n) != nil {
		return 0, false
	}
	i, acc := n.Int64()
	return i, acc == big.Exact
}

// The checks below mirror terraform-plugin-sdk/v2 helper/validation (and the provider's
// verify.ValidARN), including their error wording.

func stringMatch(pattern, message string) check {
	re := regexp.MustCompile(pattern)
	return func(k string, v tftypes.Value) string {
		s, ok := stringValue(v)
		if !ok {
			return fmt.Sprintf("expected type of %s to be string", k)
		}
		if !re.MatchString(s) {
			return fmt.Sprintf("invalid value for %s (%s)", k, message)
		}
		return ""
	}
}

func stringLenBetween(lo, hi int) check {
	return func(k string, v tftypes.Value) string {
		s, ok := stringValue(v)
		if !ok {
			return fmt.Sprintf("expected type of %s to be string", k)
		}
		if n := len(s); n < lo || n > hi {
			return fmt.Sprintf("expected length of %s to be in the range (%d - %d), got %s", k, lo, hi, s)
		}
		return ""
	}
}

func stringInSlice(valid ...string) check {
	return func(k string, v tftypes.Value) string {
		s, ok := stringValue(v)
		if !ok {
			return fmt.Sprintf("expected type of %s to be string", k)
		}
		if !slices.Contains(valid, s) {
			return fmt.Sprintf("expected %s to be one of %q, got %s", k, valid, s)
		}
		return ""
	}
}

func intBetween(lo, hi int64) check {
	return func(k string, v tftypes.Value) string {
		n, ok := intValue(v)
		if !ok {
			return fmt.Sprintf("expected type of %s to be integer", k)
		}
		if n < lo || n > hi {
			return fmt.Sprintf("expected %s to be in the range (%d - %d), got %d", k, lo, hi, n)
		}
		return ""
	}
}

func intAtLeast(lo int64) check {
	return func(k string, v tftypes.Value) string {
		n, ok := intValue(v)
		if !ok {
			return fmt.Sprintf("expected type of %s to be integer", k)
		}
		if n < lo {
			return fmt.Sprintf("expected %s to be at least (%d), got %d", k, lo, n)
		}
		return ""
	}
}

// validARN is verify.ValidARN's shape: arn:partition:service:region:account:resource, with a
// partition, a service and a resource.
func validARN(k string, v tftypes.Value) string {
	s, ok := stringValue(v)
	if !ok {
		return fmt.Sprintf("expected type of %s to be string", k)
	}
	if s == "" {
		return ""
	}
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return fmt.Sprintf("%q (%s) is an invalid ARN: arn: invalid prefix or sections", k, s)
	}
	return ""
}

func all(checks ...check) check {
	return func(k string, v tftypes.Value) string {
		for _, c := range checks {
			if msg := c(k, v); msg != "" {
				return msg
			}
		}
		return ""
	}
}
