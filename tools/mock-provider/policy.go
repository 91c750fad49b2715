package main

import (
	"encoding/json"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// policyDocumentJSON renders aws_iam_policy_document's statements as IAM JSON, the way the real
// data source does for the fields it is given: Sid, Effect, Action/NotAction,
// Resource/NotResource, Principal/NotPrincipal and Condition.
func policyDocumentJSON(attrs map[string]tftypes.Value, indent bool) string {
	doc := map[string]any{"Version": "2012-10-17"}
	if s, ok := knownString(attrs["version"]); ok && s != "" {
		doc["Version"] = s
	}
	var statements []tftypes.Value
	_ = attrs["statement"].As(&statements)
	rendered := []any{}
	for _, st := range statements {
		var s map[string]tftypes.Value
		if st.As(&s) != nil {
			continue
		}
		out := map[string]any{"Effect": "Allow"}
		if v, ok := knownString(s["sid"]); ok && v != "" {
			out["Sid"] = v
		}
		if v, ok := knownString(s["effect"]); ok && v != "" {
			out["Effect"] = v
		}
		for attr, key := range map[string]string{"actions": "Action", "not_actions": "NotAction", "resources": "Resource", "not_resources": "NotResource"} {
			if list := stringList(s[attr]); len(list) > 0 {
				out[key] = oneOrMany(list)
			}
		}
		for attr, key := range map[string]string{"principals": "Principal", "not_principals": "NotPrincipal"} {
			if p := principals(s[attr]); len(p) > 0 {
				out[key] = p
			}
		}
		if c := conditions(s["condition"]); len(c) > 0 {
			out["Condition"] = c
		}
		rendered = append(rendered, out)
	}
	doc["Statement"] = rendered
	var b []byte
	if indent {
		b, _ = json.MarshalIndent(doc, "", "  ")
	} else {
		b, _ = json.Marshal(doc)
	}
	return string(b)
}

func stringList(v tftypes.Value) []string {
	var elems []tftypes.Value
	if !v.IsKnown() || v.IsNull() || v.As(&elems) != nil {
		return nil
	}
	out := []string{}
	for _, e := range elems {
		if s, ok := knownString(e); ok {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func oneOrMany(list []string) any {
	if len(list) == 1 {
		return list[0]
	}
	return list
}

func principals(v tftypes.Value) map[string]any {
	var blocks []tftypes.Value
	out := map[string]any{}
	if !v.IsKnown() || v.IsNull() || v.As(&blocks) != nil {
		return out
	}
	for _, b := range blocks {
		var p map[string]tftypes.Value
		if b.As(&p) != nil {
			continue
		}
		kind, _ := knownString(p["type"])
		out[kind] = oneOrMany(stringList(p["identifiers"]))
	}
	return out
}

func conditions(v tftypes.Value) map[string]map[string]any {
	var blocks []tftypes.Value
	out := map[string]map[string]any{}
	if !v.IsKnown() || v.IsNull() || v.As(&blocks) != nil {
		return out
	}
	for _, b := range blocks {
		var c map[string]tftypes.Value
		if b.As(&c) != nil {
			continue
		}
		test, _ := knownString(c["test"])
		variable, _ := knownString(c["variable"])
		if out[test] == nil {
			out[test] = map[string]any{}
		}
		out[test][variable] = oneOrMany(stringList(c["values"]))
	}
	return out
}
