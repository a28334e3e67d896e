// Package apps holds the seed applications as programs of this repository:
// each is a small static Go binary that runs as an exec task and, built
// into an image from scratch by `make images`, as a docker task under the
// image name the seed job files use.
//
//	counter-api/        hashicorpnomad/counter-api:v3        HTTP :9001, a JSON count
//	counter-dashboard/  hashicorpnomad/counter-dashboard:v3  HTTP :9002, the count, live
//	hello-app/          mrkaran/hello-app:1.0.0              HTTP :8080, visits counted in Redis
//	api/                (exec task: local/api)               HTTP :9090, what payments answered on its upstream
//	grpc-health/        (exec task, e2e tests)               gRPC :9100, the health service; "flip" alternates
//
// The redis:7 image is assembled from Debian's redis-server (images/redis).
package apps
