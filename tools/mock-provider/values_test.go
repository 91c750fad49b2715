package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// A slice of aws_msk_cluster's schema as the extractor writes it.
const mskSchema = `{"attributes": {
  "arn": {"type": "string", "computed": true},
  "cluster_name": {"type": "string", "required": true},
  "tags_all": {"type": ["map", "string"], "optional": true, "computed": true}},
 "block_types": {"broker_node_group_info": {"nesting_mode": "list", "max_items": 1, "block": {"attributes": {
  "az_distribution": {"type": "string", "optional": true, "computed": true}}}}}}`

func testBlock(t *testing.T) *jsonBlock {
	t.Helper()
	var b jsonBlock
	if err := json.Unmarshal([]byte(mskSchema), &b); err != nil {
		t.Fatal(err)
	}
	if err := b.parseTypes(); err != nil {
		t.Fatal(err)
	}
	return &b
}

func TestAttributeAtFindsAttributesInsideBlocks(t *testing.T) {
	b := testBlock(t)
	nested := tftypes.NewAttributePath().WithAttributeName("broker_node_group_info").WithElementKeyInt(0).WithAttributeName("az_distribution")
	if attr := b.attributeAt(nested); attr == nil || !attr.Computed {
		t.Fatalf("az_distribution inside broker_node_group_info[0] not found as computed: %v", attr)
	}
	if attr := b.attributeAt(tftypes.NewAttributePath().WithAttributeName("broker_node_group_info")); attr != nil {
		t.Fatalf("a block is not an attribute, got %v", attr)
	}
}

func TestApplyFillsUnknownsWithValuesOfTheRightShape(t *testing.T) {
	b := testBlock(t)
	typ := b.valueType()
	blockType := typ.AttributeTypes["broker_node_group_info"].(tftypes.List).ElementType
	planned := tftypes.NewValue(typ, map[string]tftypes.Value{
		"arn":          tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
		"cluster_name": tftypes.NewValue(tftypes.String, "sdp-dev"),
		"tags_all":     tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, tftypes.UnknownValue),
		"broker_node_group_info": tftypes.NewValue(typ.AttributeTypes["broker_node_group_info"], []tftypes.Value{
			tftypes.NewValue(blockType, map[string]tftypes.Value{"az_distribution": tftypes.NewValue(tftypes.String, tftypes.UnknownValue)}),
		}),
	})
	env := environment{region: "eu-west-1", account: "111122223333", defaultTags: map[string]tftypes.Value{"Environment": tftypes.NewValue(tftypes.String, "dev")}}
	first, err := env.fill("aws_msk_cluster", b, planned, false)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := env.fill("aws_msk_cluster", b, planned, false)
	if !first.Equal(second) {
		t.Fatal("the same plan must get the same values")
	}
	if !first.IsFullyKnown() {
		t.Fatalf("unknowns left after apply: %s", first)
	}
	var attrs map[string]tftypes.Value
	_ = first.As(&attrs)
	arn, _ := knownString(attrs["arn"])
	if !strings.HasPrefix(arn, "arn:aws:kafka:eu-west-1:111122223333:cluster/sdp-dev/") {
		t.Fatalf("MSK ARN has the wrong service, region, account or name: %s", arn)
	}
	var tags map[string]tftypes.Value
	_ = attrs["tags_all"].As(&tags)
	if env, _ := knownString(tags["Environment"]); env != "dev" {
		t.Fatalf("tags_all must carry the provider's default tags, got %v", tags)
	}
}

func TestPolicyDocumentRendersStatementsAsIAMJSON(t *testing.T) {
	list := func(vals ...string) tftypes.Value {
		out := []tftypes.Value{}
		for _, v := range vals {
			out = append(out, tftypes.NewValue(tftypes.String, v))
		}
		return tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, out)
	}
	stType := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"effect": tftypes.String, "actions": tftypes.List{ElementType: tftypes.String}, "resources": tftypes.List{ElementType: tftypes.String}}}
	statement := tftypes.NewValue(stType, map[string]tftypes.Value{
		"effect": tftypes.NewValue(tftypes.String, "Deny"), "actions": list("s3:PutObject", "s3:GetObject"), "resources": list("arn:aws:s3:::b/*"),
	})
	attrs := map[string]tftypes.Value{"statement": tftypes.NewValue(tftypes.List{ElementType: stType}, []tftypes.Value{statement})}
	var doc struct {
		Version   string
		Statement []struct {
			Effect   string
			Action   []string
			Resource string
		}
	}
	if err := json.Unmarshal([]byte(policyDocumentJSON(attrs, true)), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Statement[0]
	if doc.Version != "2012-10-17" || s.Effect != "Deny" || strings.Join(s.Action, ",") != "s3:GetObject,s3:PutObject" || s.Resource != "arn:aws:s3:::b/*" {
		t.Fatalf("unexpected policy: %+v", doc)
	}
}
