// Package bench is the CLI's benchmark (make bench): one loopback registry
// with 40 distinct images, each signed with a key generated in the run
// (cosign classic layout) and carrying a signed vulnerability attestation (a
// clean Trivy scan), referenced by a 20-task PipelineRun. It measures
//
//	(a) `security-gate verify`, cold, as a separate process (median wall
//	    time of several runs, peak RSS from the child's rusage);
//	(b) the same verification in-process with a warm verification cache
//	    (BenchmarkWarmPipeline: what the controller does run after run);
//	(c) what a user would otherwise script in a Task: one `cosign verify`
//	    and one `cosign verify-attestation` process per image, sequentially,
//	    with the real cosign v2 CLI;
//	(d) (a) on a second registry with 400 images (20 per task);
//
// and where (a)'s time goes: process start (a `version` run of each CLI)
// and a CPU profile of the cold verification in-process (profile_test.go),
// its samples sorted into signature checks, registry reads, garbage
// collection and the rest; the loopback registry's own samples (same
// process) are told apart by a profiler label and left out. It prints them
// with the ratios and the targets (met / NOT met): (a) at
// least 100 times faster than (c), (d) under 10 times (a) with a peak RSS
// under 100 MiB. Only correctness is asserted (every process succeeds, every
// image verifies, negative controls fail); timings never fail the run,
// because a shared machine makes them noisy.
//
// TestServeWorld keeps one such world up for profiling the CLI as a process
// (perf, GODEBUG=inittrace=1).
//
// Everything lives behind the `bench` build tag; hack/bench.sh (make bench)
// builds the binaries and runs TestBench. Nothing leaves 127.0.0.1: the
// child processes get a proxy that does not exist for every other address.
// The controller's figure is package controller below this one.
package bench
