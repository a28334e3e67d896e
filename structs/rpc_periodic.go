package structs

// JobDispatchRequest dispatches a parameterized job (POST
// /v1/job/:id/dispatch; Payload is base64 in JSON, as Nomad sends it).
type JobDispatchRequest struct {
	JobID            string
	Payload          []byte
	Meta             map[string]string
	IdPrefixTemplate string
	// Priority overrides the template's priority (0: the template's).
	Priority int
	// IdempotencyToken (?idempotency_token=, as Nomad's clients send it)
	// makes retries safe: while a child dispatched with the same token
	// exists, the dispatch returns it instead of creating another.
	IdempotencyToken string
	WriteRequest
}

// JobDispatchResponse names the dispatched child and its evaluation.
type JobDispatchResponse struct {
	DispatchedJobID string
	EvalID          string
	EvalCreateIndex uint64
	JobCreateIndex  uint64
	WriteMeta
}

// PeriodicForceRequest launches a periodic job now (PUT
// /v1/job/:id/periodic/force).
type PeriodicForceRequest struct {
	JobID string
	WriteRequest
}

// PeriodicForceResponse names the evaluation of the launched child.
type PeriodicForceResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	WriteMeta
}
