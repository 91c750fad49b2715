package main

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// A slice of aws_keyspaces_table's schema as the extractor writes it (6.25.0 bindings).
const keyspacesTableSchema = `{"attributes": {
  "keyspace_name": {"type": "string", "required": true},
  "table_name": {"type": "string", "required": true},
  "default_time_to_live": {"type": "number", "optional": true, "computed": true}},
 "block_types": {
  "schema_definition": {"nesting_mode": "list", "min_items": 1, "max_items": 1, "block": {"block_types": {
    "column": {"nesting_mode": "set", "block": {"attributes": {
      "name": {"type": "string", "required": true}, "type": {"type": "string", "required": true}}}},
    "partition_key": {"nesting_mode": "list", "block": {"attributes": {"name": {"type": "string", "required": true}}}},
    "clustering_key": {"nesting_mode": "list", "block": {"attributes": {
      "name": {"type": "string", "required": true}, "order_by": {"type": "string", "required": true}}}},
    "static_column": {"nesting_mode": "set", "block": {"attributes": {"name": {"type": "string", "required": true}}}}}}},
  "capacity_specification": {"nesting_mode": "list", "max_items": 1, "block": {"attributes": {
    "read_capacity_units": {"type": "number", "optional": true}, "write_capacity_units": {"type": "number", "optional": true},
    "throughput_mode": {"type": "string", "optional": true, "computed": true}}}},
  "client_side_timestamps": {"nesting_mode": "list", "max_items": 1, "block": {"attributes": {"status": {"type": "string", "required": true}}}},
  "encryption_specification": {"nesting_mode": "list", "max_items": 1, "block": {"attributes": {
    "kms_key_identifier": {"type": "string", "optional": true}, "type": {"type": "string", "optional": true, "computed": true}}}},
  "point_in_time_recovery": {"nesting_mode": "list", "max_items": 1, "block": {"attributes": {"status": {"type": "string", "optional": true, "computed": true}}}},
  "ttl": {"nesting_mode": "list", "max_items": 1, "block": {"attributes": {"status": {"type": "string", "required": true}}}}}}`

func keyspacesTableBlock(t *testing.T) *jsonBlock {
	t.Helper()
	var b jsonBlock
	if err := json.Unmarshal([]byte(keyspacesTableSchema), &b); err != nil {
		t.Fatal(err)
	}
	if err := b.parseTypes(); err != nil {
		t.Fatal(err)
	}
	return &b
}

type column struct{ name, typ string }

// tableConfig is a readings-like table; nil fields stay null.
func tableConfig(t *testing.T, keyspace string, ttl any, order string, columns ...column) tftypes.Value {
	t.Helper()
	typ := keyspacesTableBlock(t).valueType()
	sd := typ.AttributeTypes["schema_definition"].(tftypes.List).ElementType.(tftypes.Object)
	colType := sd.AttributeTypes["column"].(tftypes.Set).ElementType
	pkType := sd.AttributeTypes["partition_key"].(tftypes.List).ElementType
	ckType := sd.AttributeTypes["clustering_key"].(tftypes.List).ElementType
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	cols := []tftypes.Value{}
	for _, c := range columns {
		cols = append(cols, tftypes.NewValue(colType, map[string]tftypes.Value{"name": str(c.name), "type": str(c.typ)}))
	}
	schemaDefinition := tftypes.NewValue(sd, map[string]tftypes.Value{
		"column":         tftypes.NewValue(sd.AttributeTypes["column"], cols),
		"partition_key":  tftypes.NewValue(sd.AttributeTypes["partition_key"], []tftypes.Value{tftypes.NewValue(pkType, map[string]tftypes.Value{"name": str("device_id")})}),
		"clustering_key": tftypes.NewValue(sd.AttributeTypes["clustering_key"], []tftypes.Value{tftypes.NewValue(ckType, map[string]tftypes.Value{"name": str("ts"), "order_by": str(order)})}),
		"static_column":  tftypes.NewValue(sd.AttributeTypes["static_column"], nil),
	})
	attrs := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		attrs[name] = tftypes.NewValue(at, nil)
	}
	attrs["keyspace_name"] = str(keyspace)
	attrs["table_name"] = str("readings_by_device_day")
	attrs["schema_definition"] = tftypes.NewValue(typ.AttributeTypes["schema_definition"], []tftypes.Value{schemaDefinition})
	attrs["default_time_to_live"] = tftypes.NewValue(tftypes.Number, ttl)
	return tftypes.NewValue(typ, attrs)
}

var readingColumns = []column{{"device_id", "text"}, {"ts", "timestamp"}, {"value", "double"}, {"unit", "text"}}

func summaries(typeName string, config tftypes.Value) []string {
	var out []string
	for _, d := range validateResource(typeName, config) {
		out = append(out, d.Summary)
	}
	return out
}

func TestKeyspacesColumnTypeRejectsNestedCollectionsAsTheProviderDoes(t *testing.T) {
	for _, typ := range []string{"frozen<map<text, text>>", "frozen<list<int>>", "map<text,frozen<list<text>>>", "Text", "map<text, text, text>"} {
		got := summaries("aws_keyspaces_table", tableConfig(t, "sdp_dev", nil, "ASC", append(readingColumns, column{"tags", typ})...))
		if len(got) != 1 || !strings.HasPrefix(got[0], "invalid value for schema_definition.0.column.type (The type must consist of lower case alphanumerics") {
			t.Fatalf("column type %q: want the provider's schema_definition.0.column.type error, got %q", typ, got)
		}
	}
	for _, typ := range []string{"text", "map<text, text>", "map<text,text>", "list<text>", "set<bigint>"} {
		if got := summaries("aws_keyspaces_table", tableConfig(t, "sdp_dev", nil, "ASC", append(readingColumns, column{"tags", typ})...)); len(got) != 0 {
			t.Fatalf("column type %q is valid for the provider, got %q", typ, got)
		}
	}
}

func TestKeyspacesTableNamesTTLAndClusteringOrder(t *testing.T) {
	cases := []struct {
		keyspace, order string
		ttl             any
		columns         []column
		want            string
	}{
		{"sdp-dev", "ASC", nil, readingColumns, "invalid value for keyspace_name (The keyspace name can have up to 48 characters."},
		{strings.Repeat("k", 49), "ASC", nil, readingColumns, "invalid value for keyspace_name"},
		{"sdp_dev", "asc", nil, readingColumns, `expected schema_definition.0.clustering_key.0.order_by to be one of ["ASC" "DESC"], got asc`},
		{"sdp_dev", "ASC", big.NewFloat(0), readingColumns, "expected default_time_to_live to be in the range (1 - 630720000), got 0"},
		{"sdp_dev", "ASC", big.NewFloat(630720001), readingColumns, "expected default_time_to_live to be in the range (1 - 630720000), got 630720001"},
		{"sdp_dev", "ASC", nil, append(readingColumns, column{"Tags", "text"}), "invalid value for schema_definition.0.column.name (The column name can have up to 48 characters."},
	}
	for _, c := range cases {
		got := summaries("aws_keyspaces_table", tableConfig(t, c.keyspace, c.ttl, c.order, c.columns...))
		if len(got) != 1 || !strings.HasPrefix(got[0], c.want) {
			t.Errorf("keyspace %q, order %q, ttl %v: want %q, got %q", c.keyspace, c.order, c.ttl, c.want, got)
		}
	}
	if got := summaries("aws_keyspaces_table", tableConfig(t, "sdp_dev", big.NewFloat(630720000), "DESC", readingColumns...)); len(got) != 0 {
		t.Errorf("a valid table must pass, got %q", got)
	}
}

func TestValidationSkipsUnknownValuesAndOtherTypes(t *testing.T) {
	config := tableConfig(t, "sdp_dev", nil, "ASC", readingColumns...)
	var attrs map[string]tftypes.Value
	_ = config.As(&attrs)
	attrs["keyspace_name"] = tftypes.NewValue(tftypes.String, tftypes.UnknownValue)
	if got := summaries("aws_keyspaces_table", tftypes.NewValue(config.Type(), attrs)); len(got) != 0 {
		t.Fatalf("an unknown keyspace name is validated once known, got %q", got)
	}
	if got := summaries("aws_s3_object", config); len(got) != 0 {
		t.Fatalf("a type without rules has no diagnostics, got %q", got)
	}
}

func TestKeyspaceNameAsTheProviderValidatesIt(t *testing.T) {
	typ := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"name": tftypes.String}}
	for name, want := range map[string]string{"sdp_dev": "", "s": "invalid value for name", "sdp-dev": "invalid value for name", strings.Repeat("k", 49): "expected length of name"} {
		got := summaries("aws_keyspaces_keyspace", tftypes.NewValue(typ, map[string]tftypes.Value{"name": tftypes.NewValue(tftypes.String, name)}))
		if (want == "") != (len(got) == 0) || (want != "" && !strings.HasPrefix(got[0], want)) {
			t.Errorf("keyspace name %q: want %q, got %q", name, want, got)
		}
	}
}

func TestRulePathsMustExistInTheServedSchema(t *testing.T) {
	schema := &providerSchema{ResourceSchemas: map[string]schemaEntry{"aws_keyspaces_table": {Block: *keyspacesTableBlock(t)}}}
	if err := checkRulePaths(schema); err != nil {
		t.Fatalf("every aws_keyspaces_table rule must resolve in the 6.25.0 schema: %v", err)
	}
	b := keyspacesTableBlock(t)
	delete(b.BlockTypes["schema_definition"].Block.BlockTypes["column"].Block.Attributes, "type")
	schema.ResourceSchemas["aws_keyspaces_table"] = schemaEntry{Block: *b}
	if err := checkRulePaths(schema); err == nil || !strings.Contains(err.Error(), "aws_keyspaces_table.schema_definition.column.type") {
		t.Fatalf("a rule whose attribute vanished must fail loudly, got %v", err)
	}
}
