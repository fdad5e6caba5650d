// Package controller is the controller's throughput benchmark (make bench):
// the real control plane of the end-to-end suite (etcd and kube-apiserver
// from .cache/bin, Tekton's CRDs and RBAC, config/), our controller as a
// process under its own ServiceAccount, and a loopback registry with one
// signed and attested image. Tekton's controller does not run: the harness
// creates what Tekton would, each gate's PipelineRun (with
// status.pipelineSpec set) and its CustomRun, so that Tekton's own creation
// rate is not what is measured.
//
// After a warm-up (the verification cache holds the image), it creates the
// measured CustomRuns as fast as the API server takes them and watches each
// to its final condition. It prints gate decisions per second, the latency
// from creation to the final condition (p50, p99), the controller's peak
// RSS, and the CPU time each process used, with the targets as met / NOT
// met; it fails only when a gate does not pass, never because of a timing.
// With runtime profiling on, it also keeps a CPU profile of the controller
// over the measured window.
//
// It is built only with both the e2e and bench tags (it uses the e2e
// framework):
//
//	go test -tags e2e,bench -run TestControllerThroughput -v ./test/bench/controller
package controller
