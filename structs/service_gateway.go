package structs

// ConsulGatewayBindAddress is one named address a gateway's proxy binds to.
type ConsulGatewayBindAddress struct {
	Address string
	Port    int
}

// ConsulGatewayTLSSDSConfig points a gateway listener at certificates served
// over Envoy's secret discovery service.
type ConsulGatewayTLSSDSConfig struct {
	ClusterName  string
	CertResource string
}

// ConsulHTTPHeaderModifiers adds, sets or removes HTTP headers on requests or
// responses passing an ingress gateway.
type ConsulHTTPHeaderModifiers struct {
	Add    map[string]string
	Set    map[string]string
	Remove []string
}
