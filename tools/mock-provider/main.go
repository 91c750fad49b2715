// Command mock-provider is a schema-driven stand-in for the aws, kubernetes and helm providers, so
// that `terraform init/plan/apply` run on the synthesized stacks with no cloud and no registry.
//
// It serves the schema that scripts/terraform/extract-schema.ts reads out of the cdktf bindings
// (SDP_MOCK_PROVIDER_SCHEMA) under the address its executable name says
// (terraform-provider-<name>_v<version>). At plan, computed attributes that the configuration
// leaves unset are unknown; at apply they get deterministic values of the right shape; data
// sources answer at plan time; a curated copy of the real validators runs at validate and plan
// (validate.go). It cannot prove what only the real APIs check: see
// docs/terraform-tests.md.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func main() {
	name := providerName(os.Args[0])
	address := "registry.terraform.io/hashicorp/" + name
	schemaPath := os.Getenv("SDP_MOCK_PROVIDER_SCHEMA")
	schema, err := loadProviderSchema(schemaPath, address)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := checkRulePaths(schema); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server := &mockProvider{name: name, schema: schema, env: defaultEnvironment()}
	if err := tf5server.Serve(address, func() tfprotov5.ProviderServer { return server }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// providerName reads "aws" out of "terraform-provider-aws_v6.25.0".
func providerName(executable string) string {
	base := strings.TrimPrefix(filepath.Base(executable), "terraform-provider-")
	if i := strings.Index(base, "_"); i >= 0 {
		base = base[:i]
	}
	return base
}

type mockProvider struct {
	name   string
	schema *providerSchema
	env    environment
}

func (p *mockProvider) resource(typeName string) (*jsonBlock, error) {
	entry, ok := p.schema.ResourceSchemas[typeName]
	if !ok {
		return nil, fmt.Errorf("mock %s provider: no schema for resource type %s", p.name, typeName)
	}
	return &entry.Block, nil
}

func (p *mockProvider) dataSource(typeName string) (*jsonBlock, error) {
	entry, ok := p.schema.DataSourceSchemas[typeName]
	if !ok {
		return nil, fmt.Errorf("mock %s provider: no schema for data source %s", p.name, typeName)
	}
	return &entry.Block, nil
}

func errorDiagnostics(err error) []*tfprotov5.Diagnostic {
	return []*tfprotov5.Diagnostic{{Severity: tfprotov5.DiagnosticSeverityError, Summary: err.Error()}}
}

func dynamic(t tftypes.Type, v tftypes.Value) (*tfprotov5.DynamicValue, error) {
	dv, err := tfprotov5.NewDynamicValue(t, v)
	return &dv, err
}

func (p *mockProvider) GetMetadata(context.Context, *tfprotov5.GetMetadataRequest) (*tfprotov5.GetMetadataResponse, error) {
	resp := &tfprotov5.GetMetadataResponse{ServerCapabilities: &tfprotov5.ServerCapabilities{PlanDestroy: true}}
	for _, name := range sortedKeys(p.schema.ResourceSchemas) {
		resp.Resources = append(resp.Resources, tfprotov5.ResourceMetadata{TypeName: name})
	}
	for _, name := range sortedKeys(p.schema.DataSourceSchemas) {
		resp.DataSources = append(resp.DataSources, tfprotov5.DataSourceMetadata{TypeName: name})
	}
	return resp, nil
}

func (p *mockProvider) GetProviderSchema(context.Context, *tfprotov5.GetProviderSchemaRequest) (*tfprotov5.GetProviderSchemaResponse, error) {
	resp := &tfprotov5.GetProviderSchemaResponse{
		ServerCapabilities: &tfprotov5.ServerCapabilities{PlanDestroy: true},
		Provider:           &tfprotov5.Schema{Version: p.schema.Provider.Version, Block: p.schema.Provider.Block.protocol()},
		ResourceSchemas:    map[string]*tfprotov5.Schema{},
		DataSourceSchemas:  map[string]*tfprotov5.Schema{},
	}
	for name, entry := range p.schema.ResourceSchemas {
		resp.ResourceSchemas[name] = &tfprotov5.Schema{Version: entry.Version, Block: entry.Block.protocol()}
	}
	for name, entry := range p.schema.DataSourceSchemas {
		resp.DataSourceSchemas[name] = &tfprotov5.Schema{Version: entry.Version, Block: entry.Block.protocol()}
	}
	return resp, nil
}

func (p *mockProvider) GetResourceIdentitySchemas(context.Context, *tfprotov5.GetResourceIdentitySchemasRequest) (*tfprotov5.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov5.GetResourceIdentitySchemasResponse{}, nil
}

func (p *mockProvider) PrepareProviderConfig(_ context.Context, req *tfprotov5.PrepareProviderConfigRequest) (*tfprotov5.PrepareProviderConfigResponse, error) {
	return &tfprotov5.PrepareProviderConfigResponse{PreparedConfig: req.Config}, nil
}

// ConfigureProvider takes the region, account and default tags that fake values are made from.
func (p *mockProvider) ConfigureProvider(_ context.Context, req *tfprotov5.ConfigureProviderRequest) (*tfprotov5.ConfigureProviderResponse, error) {
	config, err := req.Config.Unmarshal(p.schema.Provider.Block.valueType())
	if err != nil {
		return &tfprotov5.ConfigureProviderResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	p.env.configure(config)
	return &tfprotov5.ConfigureProviderResponse{}, nil
}

func (p *mockProvider) StopProvider(context.Context, *tfprotov5.StopProviderRequest) (*tfprotov5.StopProviderResponse, error) {
	return &tfprotov5.StopProviderResponse{}, nil
}

// ValidateResourceTypeConfig runs the real provider's validators that the mock carries (validate.go).
func (p *mockProvider) ValidateResourceTypeConfig(_ context.Context, req *tfprotov5.ValidateResourceTypeConfigRequest) (*tfprotov5.ValidateResourceTypeConfigResponse, error) {
	block, err := p.resource(req.TypeName)
	if err != nil {
		return &tfprotov5.ValidateResourceTypeConfigResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	config, err := req.Config.Unmarshal(block.valueType())
	if err != nil {
		return &tfprotov5.ValidateResourceTypeConfigResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	return &tfprotov5.ValidateResourceTypeConfigResponse{Diagnostics: validateResource(req.TypeName, config)}, nil
}

func (p *mockProvider) UpgradeResourceState(_ context.Context, req *tfprotov5.UpgradeResourceStateRequest) (*tfprotov5.UpgradeResourceStateResponse, error) {
	block, err := p.resource(req.TypeName)
	if err != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	t := block.valueType()
	state, err := req.RawState.Unmarshal(t)
	if err != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	dv, err := dynamic(t, state)
	if err != nil {
		return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	return &tfprotov5.UpgradeResourceStateResponse{UpgradedState: dv}, nil
}

// ReadResource reports no drift: the mock's world is exactly what it last applied.
func (p *mockProvider) ReadResource(_ context.Context, req *tfprotov5.ReadResourceRequest) (*tfprotov5.ReadResourceResponse, error) {
	return &tfprotov5.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
}

// PlanResourceChange takes Terraform's proposed state; on create, every computed attribute the
// configuration leaves null becomes unknown, as a real provider reports it. Updates keep the
// prior computed values (Terraform's proposal already carries them). The mock never asks for
// replacement: which attributes force it is not in the bindings.
func (p *mockProvider) PlanResourceChange(_ context.Context, req *tfprotov5.PlanResourceChangeRequest) (*tfprotov5.PlanResourceChangeResponse, error) {
	block, err := p.resource(req.TypeName)
	if err != nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	t := block.valueType()
	prior, err := req.PriorState.Unmarshal(t)
	if err != nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	proposed, err := req.ProposedNewState.Unmarshal(t)
	if err != nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	planned := proposed
	if prior.IsNull() && !proposed.IsNull() {
		planned, err = tftypes.Transform(proposed, func(path *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
			if attr := block.attributeAt(path); attr != nil && attr.Computed && v.IsNull() {
				return tftypes.NewValue(v.Type(), tftypes.UnknownValue), nil
			}
			return v, nil
		})
		if err != nil {
			return &tfprotov5.PlanResourceChangeResponse{Diagnostics: errorDiagnostics(err)}, nil
		}
	}
	dv, err := dynamic(t, planned)
	if err != nil {
		return &tfprotov5.PlanResourceChangeResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	return &tfprotov5.PlanResourceChangeResponse{PlannedState: dv, PlannedPrivate: req.PriorPrivate}, nil
}

// ApplyResourceChange replaces every unknown of the plan with a deterministic fake value.
func (p *mockProvider) ApplyResourceChange(_ context.Context, req *tfprotov5.ApplyResourceChangeRequest) (*tfprotov5.ApplyResourceChangeResponse, error) {
	block, err := p.resource(req.TypeName)
	if err != nil {
		return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	t := block.valueType()
	planned, err := req.PlannedState.Unmarshal(t)
	if err != nil {
		return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	state := planned
	if !planned.IsNull() {
		state, err = p.env.fill(req.TypeName, block, planned, false)
		if err != nil {
			return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: errorDiagnostics(err)}, nil
		}
	}
	dv, err := dynamic(t, state)
	if err != nil {
		return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	return &tfprotov5.ApplyResourceChangeResponse{NewState: dv, Private: req.PlannedPrivate}, nil
}

func (p *mockProvider) ImportResourceState(_ context.Context, req *tfprotov5.ImportResourceStateRequest) (*tfprotov5.ImportResourceStateResponse, error) {
	return &tfprotov5.ImportResourceStateResponse{Diagnostics: errorDiagnostics(fmt.Errorf("mock %s provider: import of %s is not modelled", p.name, req.TypeName))}, nil
}

func (p *mockProvider) MoveResourceState(_ context.Context, req *tfprotov5.MoveResourceStateRequest) (*tfprotov5.MoveResourceStateResponse, error) {
	return &tfprotov5.MoveResourceStateResponse{Diagnostics: errorDiagnostics(fmt.Errorf("mock %s provider: moving state into %s is not modelled", p.name, req.TargetTypeName))}, nil
}

func (p *mockProvider) UpgradeResourceIdentity(context.Context, *tfprotov5.UpgradeResourceIdentityRequest) (*tfprotov5.UpgradeResourceIdentityResponse, error) {
	return &tfprotov5.UpgradeResourceIdentityResponse{}, nil
}

func (p *mockProvider) ValidateDataSourceConfig(context.Context, *tfprotov5.ValidateDataSourceConfigRequest) (*tfprotov5.ValidateDataSourceConfigResponse, error) {
	return &tfprotov5.ValidateDataSourceConfigResponse{}, nil
}

// ReadDataSource answers at plan time with known values (see environment.fill).
func (p *mockProvider) ReadDataSource(_ context.Context, req *tfprotov5.ReadDataSourceRequest) (*tfprotov5.ReadDataSourceResponse, error) {
	block, err := p.dataSource(req.TypeName)
	if err != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	t := block.valueType()
	config, err := req.Config.Unmarshal(t)
	if err != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	nulls, err := tftypes.Transform(config, func(path *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if attr := block.attributeAt(path); attr != nil && attr.Computed && v.IsNull() {
			return tftypes.NewValue(v.Type(), tftypes.UnknownValue), nil
		}
		return v, nil
	})
	if err != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	state, err := p.env.fill(req.TypeName, block, nulls, true)
	if err != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	dv, err := dynamic(t, state)
	if err != nil {
		return &tfprotov5.ReadDataSourceResponse{Diagnostics: errorDiagnostics(err)}, nil
	}
	return &tfprotov5.ReadDataSourceResponse{State: dv}, nil
}

func (p *mockProvider) CallFunction(context.Context, *tfprotov5.CallFunctionRequest) (*tfprotov5.CallFunctionResponse, error) {
	return &tfprotov5.CallFunctionResponse{Error: &tfprotov5.FunctionError{Text: "mock provider: provider functions are not modelled"}}, nil
}

func (p *mockProvider) GetFunctions(context.Context, *tfprotov5.GetFunctionsRequest) (*tfprotov5.GetFunctionsResponse, error) {
	return &tfprotov5.GetFunctionsResponse{Functions: map[string]*tfprotov5.Function{}}, nil
}

func (p *mockProvider) ValidateEphemeralResourceConfig(context.Context, *tfprotov5.ValidateEphemeralResourceConfigRequest) (*tfprotov5.ValidateEphemeralResourceConfigResponse, error) {
	return &tfprotov5.ValidateEphemeralResourceConfigResponse{}, nil
}

func (p *mockProvider) OpenEphemeralResource(_ context.Context, req *tfprotov5.OpenEphemeralResourceRequest) (*tfprotov5.OpenEphemeralResourceResponse, error) {
	return &tfprotov5.OpenEphemeralResourceResponse{Diagnostics: errorDiagnostics(fmt.Errorf("mock provider: ephemeral resource %s is not modelled", req.TypeName))}, nil
}

func (p *mockProvider) RenewEphemeralResource(context.Context, *tfprotov5.RenewEphemeralResourceRequest) (*tfprotov5.RenewEphemeralResourceResponse, error) {
	return &tfprotov5.RenewEphemeralResourceResponse{}, nil
}

func (p *mockProvider) CloseEphemeralResource(context.Context, *tfprotov5.CloseEphemeralResourceRequest) (*tfprotov5.CloseEphemeralResourceResponse, error) {
	return &tfprotov5.CloseEphemeralResourceResponse{}, nil
}
