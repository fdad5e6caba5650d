// Package bench is the benchmark of issue 3 ("Performance"): one loopback
// registry with 40 distinct images, each signed with a key generated in the
// run (cosign classic layout) and carrying a signed vulnerability
// attestation (a clean Trivy scan), referenced by a 20-task PipelineRun. It
// measures three ways of verifying that run:
//
//	(a) `security-gate verify`, cold, as a separate process (median wall
//	    time of several runs, peak RSS from the child's rusage);
//	(b) the same verification in-process with a warm verification cache
//	    (BenchmarkWarmPipeline: what the controller does run after run);
//	(c) what a user would otherwise script in a Task: one `cosign verify`
//	    and one `cosign verify-attestation` process per image, sequentially,
//	    with the real cosign v2 CLI.
//
// and prints them with the ratios and the targets of the issue (met / NOT
// met). Only correctness is asserted (every process succeeds, 40 images
// verify, negative controls fail); timings never fail the run, because a
// shared machine makes them noisy.
//
// Everything lives behind the `bench` build tag; hack/bench.sh (make bench)
// builds the binaries and runs TestBench. Nothing leaves 127.0.0.1: the
// child processes get a proxy that does not exist for every other address.
package bench
