package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The subset of Terraform's `providers schema -json` format that the extractor writes.
type schemaFile struct {
	ProviderSchemas map[string]providerSchema `json:"provider_schemas"`
}

type providerSchema struct {
	Provider          schemaEntry            `json:"provider"`
	ResourceSchemas   map[string]schemaEntry `json:"resource_schemas"`
	DataSourceSchemas map[string]schemaEntry `json:"data_source_schemas"`
}

type schemaEntry struct {
	Version int64     `json:"version"`
	Block   jsonBlock `json:"block"`
}

type jsonBlock struct {
	Attributes map[string]*jsonAttribute `json:"attributes"`
	BlockTypes map[string]*jsonBlockType `json:"block_types"`
}

type jsonAttribute struct {
	Type      json.RawMessage `json:"type"`
	Required  bool            `json:"required"`
	Optional  bool            `json:"optional"`
	Computed  bool            `json:"computed"`
	Sensitive bool            `json:"sensitive"`
	parsed    tftypes.Type
}

type jsonBlockType struct {
	NestingMode string    `json:"nesting_mode"`
	Block       jsonBlock `json:"block"`
	MinItems    int64     `json:"min_items"`
	MaxItems    int64     `json:"max_items"`
}

// loadProviderSchema reads the schema of one provider address from the extractor's file.
func loadProviderSchema(path, address string) (*providerSchema, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mock provider: cannot read the schema file %s (set SDP_MOCK_PROVIDER_SCHEMA to the extractor's output): %w", path, err)
	}
	var file schemaFile
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("mock provider: %s is not a `providers schema -json` document: %w", path, err)
	}
	schema, ok := file.ProviderSchemas[address]
	if !ok {
		return nil, fmt.Errorf("mock provider: %s has no schema for %s; re-run scripts/terraform/extract-schema.ts", path, address)
	}
	if err := schema.Provider.Block.parseTypes(); err != nil {
		return nil, fmt.Errorf("mock provider: provider block of %s: %w", address, err)
	}
	for _, entries := range []map[string]schemaEntry{schema.ResourceSchemas, schema.DataSourceSchemas} {
		for name, entry := range entries {
			if err := entry.Block.parseTypes(); err != nil {
				return nil, fmt.Errorf("mock provider: %s in %s: %w", name, path, err)
			}
		}
	}
	return &schema, nil
}

func (b *jsonBlock) parseTypes() error {
	for name, attr := range b.Attributes {
		t, err := tftypes.ParseJSONType(attr.Type)
		if err != nil {
			return fmt.Errorf("attribute %s: %w", name, err)
		}
		attr.parsed = t
	}
	for name, nested := range b.BlockTypes {
		if err := nested.Block.parseTypes(); err != nil {
			return fmt.Errorf("block %s: %w", name, err)
		}
	}
	return nil
}

// valueType is the object type of a block's values, as Terraform encodes them on the wire.
func (b *jsonBlock) valueType() tftypes.Object {
	types := map[string]tftypes.Type{}
	for name, attr := range b.Attributes {
		types[name] = attr.parsed
	}
	for name, nested := range b.BlockTypes {
		inner := nested.Block.valueType()
		switch nested.NestingMode {
		case "set":
			types[name] = tftypes.Set{ElementType: inner}
		case "single", "group":
			types[name] = inner
		default:
			types[name] = tftypes.List{ElementType: inner}
		}
	}
	return tftypes.Object{AttributeTypes: types}
}

func (b *jsonBlock) protocol() *tfprotov5.SchemaBlock {
	out := &tfprotov5.SchemaBlock{}
	for _, name := range sortedKeys(b.Attributes) {
		a := b.Attributes[name]
		out.Attributes = append(out.Attributes, &tfprotov5.SchemaAttribute{
			Name: name, Type: a.parsed, Required: a.Required, Optional: a.Optional, Computed: a.Computed, Sensitive: a.Sensitive,
		})
	}
	for _, name := range sortedKeys(b.BlockTypes) {
		nested := b.BlockTypes[name]
		mode := map[string]tfprotov5.SchemaNestedBlockNestingMode{
			"list": tfprotov5.SchemaNestedBlockNestingModeList, "set": tfprotov5.SchemaNestedBlockNestingModeSet,
			"single": tfprotov5.SchemaNestedBlockNestingModeSingle, "group": tfprotov5.SchemaNestedBlockNestingModeGroup,
			"map": tfprotov5.SchemaNestedBlockNestingModeMap,
		}[nested.NestingMode]
		out.BlockTypes = append(out.BlockTypes, &tfprotov5.SchemaNestedBlock{
			TypeName: name, Block: nested.Block.protocol(), Nesting: mode, MinItems: nested.MinItems, MaxItems: nested.MaxItems,
		})
	}
	return out
}

// attributeAt returns the schema attribute that a value path names exactly, or nil when the path
// names a block, an element, or something inside an attribute's own value.
func (b *jsonBlock) attributeAt(path *tftypes.AttributePath) *jsonAttribute {
	block := b
	steps := path.Steps()
	for i := 0; i < len(steps); i++ {
		name, ok := steps[i].(tftypes.AttributeName)
		if !ok {
			return nil
		}
		if attr, ok := block.Attributes[string(name)]; ok {
			if i == len(steps)-1 {
				return attr
			}
			return nil
		}
		nested, ok := block.BlockTypes[string(name)]
		if !ok {
			return nil
		}
		block = &nested.Block
		if nested.NestingMode != "single" && nested.NestingMode != "group" {
			i++ // the element key of a list, set or map block
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
