package structs

// Allowed values of the string-valued job fields that have no named type
// (the typed ones of services, checks and templates are in service_enums.go).
// The job-file parser checks them to report a position; Validate checks them
// again for jobs submitted through the API. Each call returns a fresh slice.

// JobTypes lists the job types a user may submit.
func JobTypes() []JobType { return append([]JobType(nil), jobTypes...) }

// ArtifactModes lists artifact.mode values.
func ArtifactModes() []string { return []string{"any", "file", "dir"} }

// VolumeTypes lists group volume types.
func VolumeTypes() []string { return []string{"host", "csi"} }

// PropagationModes lists volume_mount.propagation_mode values.
func PropagationModes() []string { return []string{"private", "host-to-task", "bidirectional"} }

// DispatchPayloadModes lists parameterized.payload values.
func DispatchPayloadModes() []string { return []string{"optional", "required", "forbidden"} }

// RescheduleDelayFunctions lists reschedule.delay_function values.
func RescheduleDelayFunctions() []string { return []string{"constant", "exponential", "fibonacci"} }

// UpdateHealthChecks lists update.health_check and migrate.health_check values.
func UpdateHealthChecks() []string { return []string{"checks", "task_states", "manual"} }

// DisconnectReconcileModes lists disconnect.reconcile values.
func DisconnectReconcileModes() []string {
	return []string{"keep_original", "keep_replacement", "keep_latest_runtime", "best_score"}
}

// UpstreamDestinationTypes lists upstreams.destination_type values.
func UpstreamDestinationTypes() []string { return []string{"service", "prepared_query"} }

// MeshGatewayModes lists mesh_gateway.mode values ("" leaves Consul's default).
func MeshGatewayModes() []string { return []string{"local", "remote", "none"} }

// ExposeProtocols lists expose path protocols.
func ExposeProtocols() []string { return []string{"http", "http2"} }

// IngressProtocols lists ingress listener protocols.
func IngressProtocols() []string { return []string{"tcp", "http", "http2", "grpc"} }

// CheckProtocols lists check.protocol values for http checks.
func CheckProtocols() []string { return []string{"http", "https"} }
