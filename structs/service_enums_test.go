package structs

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// parseCase is one row of a parser table: in, and either the value it parses
// to or "" when it must be refused.
type parseCase[T ~string] struct {
	in   string
	want T
}

// testParser runs a parser table: known values parse to their constant and
// print back unchanged (the wire value); unknown ones are refused with an
// *UnknownValueError that lists every known value.
func testParser[T interface {
	~string
	String() string
}](t *testing.T, kind string, parse func(string) (T, error), known []T, cases []parseCase[T]) {
	t.Helper()
	for _, c := range cases {
		got, err := parse(c.in)
		if c.want != "" {
			if err != nil || got != c.want || got.String() != c.in {
				t.Errorf("%s: parse %q = %q, %v; want %q", kind, c.in, got, err, c.want)
			}
			continue
		}
		var unknown *UnknownValueError
		if !errors.As(err, &unknown) {
			t.Errorf("%s: parse %q = %q, %v; want an UnknownValueError", kind, c.in, got, err)
			continue
		}
		for _, k := range known {
			if !strings.Contains(err.Error(), `"`+string(k)+`"`) {
				t.Errorf("%s: error %q does not list %q", kind, err, k)
			}
		}
		if !strings.Contains(err.Error(), kind) {
			t.Errorf("error %q does not name the kind %q", err, kind)
		}
	}
}

func TestParseServiceProvider(t *testing.T) {
	testParser(t, "service provider", ParseServiceProvider, ServiceProviders(), []parseCase[ServiceProvider]{
		{"consul", ServiceProviderConsul}, {"nomad", ServiceProviderNomad},
		{"", ""}, {"Nomad", ""}, {"nomda", ""},
	})
}

func TestParseAddressModes(t *testing.T) {
	testParser(t, "service address mode", ParseServiceAddressMode, ServiceAddressModes(), []parseCase[AddressMode]{
		{"auto", AddressModeAuto}, {"host", AddressModeHost}, {"driver", AddressModeDriver},
		{"alloc", AddressModeAlloc}, {"alloc_ipv6", AddressModeAllocIPv6},
		{"", ""}, {"hots", ""}, {"bridge", ""},
	})
	// A check dials one address: "auto" is a service mode only.
	testParser(t, "check address mode", ParseCheckAddressMode, CheckAddressModes(), []parseCase[AddressMode]{
		{"host", AddressModeHost}, {"driver", AddressModeDriver}, {"alloc", AddressModeAlloc},
		{"alloc_ipv6", AddressModeAllocIPv6},
		{"auto", ""}, {"", ""},
	})
}

func TestParseCheckType(t *testing.T) {
	testParser(t, "check type", ParseCheckType, CheckTypes(), []parseCase[CheckType]{
		{"http", CheckTypeHTTP}, {"tcp", CheckTypeTCP}, {"grpc", CheckTypeGRPC}, {"script", CheckTypeScript},
		{"", ""}, {"https", ""}, {"HTTP", ""}, {"docker", ""},
	})
}

func TestParseOnUpdate(t *testing.T) {
	testParser(t, "on_update mode", ParseOnUpdate, OnUpdateModes(), []parseCase[OnUpdate]{
		{"require_healthy", OnUpdateRequireHealthy}, {"ignore_warnings", OnUpdateIgnoreWarnings},
		{"ignore", OnUpdateIgnore},
		{"", ""}, {"ignore_warning", ""}, {"never", ""},
	})
}

func TestParseChangeModes(t *testing.T) {
	testParser(t, "template change mode", ParseTemplateChangeMode, TemplateChangeModes(), []parseCase[ChangeMode]{
		{"noop", ChangeModeNoop}, {"restart", ChangeModeRestart}, {"signal", ChangeModeSignal},
		{"script", ChangeModeScript},
		{"", ""}, {"reload", ""},
	})
	testParser(t, "vault change mode", ParseVaultChangeMode, VaultChangeModes(), []parseCase[ChangeMode]{
		{"noop", ChangeModeNoop}, {"restart", ChangeModeRestart}, {"signal", ChangeModeSignal},
		{"script", ""}, {"", ""},
	})
}

func TestParseConnectMode(t *testing.T) {
	testParser(t, "connect mode", ParseConnectMode, ConnectModes(), []parseCase[ConnectMode]{
		{"native", ConnectModeNative}, {"sidecar", ConnectModeSidecar}, {"gateway", ConnectModeGateway},
		{"", ""}, {"sidecar_service", ""}, {"proxy", ""},
	})
	testParser(t, "gateway kind", ParseGatewayKind, GatewayKinds(), []parseCase[GatewayKind]{
		{"ingress", GatewayKindIngress}, {"terminating", GatewayKindTerminating}, {"mesh", GatewayKindMesh},
		{"", ""}, {"api", ""},
	})
}

func TestParseNetworkMode(t *testing.T) {
	for in, want := range map[string]NetworkMode{
		"": NetworkModeHost, "host": NetworkModeHost, "bridge": NetworkModeBridge,
		"none": NetworkModeNone, "cni/mynet": "cni/mynet",
	} {
		if got, err := ParseNetworkMode(in); err != nil || got != want {
			t.Errorf("parse %q = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"bridg", "cni/", "cni", "Host"} {
		_, err := ParseNetworkMode(in)
		var unknown *UnknownValueError
		if !errors.As(err, &unknown) || !strings.Contains(err.Error(), `"cni/<name>"`) || !strings.Contains(err.Error(), `"bridge"`) {
			t.Errorf("parse %q: want an error listing the modes, got %v", in, err)
		}
	}
}

// The connect and gateway modes are named by which block is set; several
// or none is no mode (validation refuses it).
func TestConnectModeOfBlock(t *testing.T) {
	cases := []struct {
		c    *ConsulConnect
		want []ConnectMode
	}{
		{nil, nil},
		{&ConsulConnect{}, nil},
		{&ConsulConnect{Native: true}, []ConnectMode{ConnectModeNative}},
		{&ConsulConnect{SidecarService: &ConsulSidecarService{}}, []ConnectMode{ConnectModeSidecar}},
		{&ConsulConnect{Gateway: &ConsulGateway{}}, []ConnectMode{ConnectModeGateway}},
		{&ConsulConnect{Native: true, Gateway: &ConsulGateway{}}, []ConnectMode{ConnectModeNative, ConnectModeGateway}},
	}
	for _, c := range cases {
		if got := c.c.Modes(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v: modes %v, want %v", c.c, got, c.want)
		}
		if want := ConnectMode(""); len(c.want) == 1 {
			want = c.want[0]
			if c.c.Mode() != want {
				t.Errorf("%+v: mode %q, want %q", c.c, c.c.Mode(), want)
			}
		} else if c.c.Mode() != want {
			t.Errorf("%+v: mode %q, want none", c.c, c.c.Mode())
		}
	}
	gateways := map[GatewayKind]*ConsulGateway{
		GatewayKindIngress:     {Ingress: &ConsulIngressConfigEntry{}},
		GatewayKindTerminating: {Terminating: &ConsulTerminatingConfigEntry{}},
		GatewayKindMesh:        {Mesh: &ConsulMeshConfigEntry{}},
		"":                     {Ingress: &ConsulIngressConfigEntry{}, Mesh: &ConsulMeshConfigEntry{}},
	}
	for want, g := range gateways {
		if got := g.Kind(); got != want {
			t.Errorf("%+v: kind %q, want %q", g, got, want)
		}
	}
}

func TestParseTaskKind(t *testing.T) {
	for in, want := range map[string]TaskKind{
		"":                    "",
		"connect-proxy:web":   NewTaskKind(TaskKindConnectProxy, "web"),
		"connect-native:api":  NewTaskKind(TaskKindConnectNative, "api"),
		"connect-ingress:in":  NewTaskKind(TaskKindConnectIngress, "in"),
		"connect-mesh:mesh-1": NewTaskKind(TaskKindConnectMesh, "mesh-1"),
	} {
		got, err := ParseTaskKind(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("parse %q = %q, %v; want %q", in, got, err, want)
		}
	}
	if k := NewTaskKind(TaskKindConnectTerminating, "db"); k.Prefix() != TaskKindConnectTerminating || k.Service() != "db" {
		t.Errorf("%q: prefix %q service %q", k, k.Prefix(), k.Service())
	}
	for _, in := range []string{"connect-sidecar:web", "proxy", "web"} {
		_, err := ParseTaskKind(in)
		var unknown *UnknownValueError
		if !errors.As(err, &unknown) || !strings.Contains(err.Error(), `"connect-proxy"`) {
			t.Errorf("parse %q: want an error listing the prefixes, got %v", in, err)
		}
	}
	if _, err := ParseTaskKind("connect-proxy:"); err == nil || !strings.Contains(err.Error(), "names no service") {
		t.Errorf("a kind without its service: %v", err)
	}
}

// The typed fields are plain strings on the wire, as in Nomad's API: a
// custom encoding would break every Nomad client.
func TestTypedFieldsAreStringsOnTheWire(t *testing.T) {
	s := &Service{Provider: ServiceProviderNomad, AddressMode: AddressModeAlloc, OnUpdate: OnUpdateIgnore,
		Checks: []*ServiceCheck{{Type: CheckTypeHTTP, AddressMode: AddressModeHost, OnUpdate: OnUpdateIgnoreWarnings}}}
	task := &Task{Kind: NewTaskKind(TaskKindConnectProxy, "web"), Templates: []*Template{{ChangeMode: ChangeModeSignal}}}
	out, err := json.Marshal(map[string]any{"s": s, "t": task})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Provider":"nomad"`, `"AddressMode":"alloc"`, `"OnUpdate":"ignore"`,
		`"Type":"http"`, `"AddressMode":"host"`, `"OnUpdate":"ignore_warnings"`,
		`"Kind":"connect-proxy:web"`, `"ChangeMode":"signal"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("JSON lacks %s: %s", want, out)
		}
	}
	var back struct {
		S *Service
		T *Task
	}
	if err := json.Unmarshal(out, &back); err != nil || !reflect.DeepEqual(back.S, s) || back.T.Kind != task.Kind {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}
