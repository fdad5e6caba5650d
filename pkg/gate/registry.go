package gate

import (
	"errors"
	"sort"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/security-gate/security-gate/pkg/transient"
)

// forEach runs fn(0..n-1) on at most Options.Concurrency goroutines and
// waits for all of them. A cancelled context stops new work; fn sees the
// cancellation through r.ctx.
func (r *run) forEach(n int, fn func(i int)) {
	if n == 0 {
		return
	}
	workers := r.e.opts.Concurrency
	if workers > n {
		workers = n
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		if r.ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// useImage records a verifiable image reference (parsed, no variable left)
// used by task.
func (r *run) useImage(image, task string) {
	m, ok := r.images[image]
	if !ok {
		m = map[string]bool{}
		r.images[image] = m
	}
	m[task] = true
}

// checkExtraImages validates the extra artifacts of Input.Images (--image):
// they go through the images and attestations rules like step images, but
// not through images.requireDigest, which is about what steps run (an
// extra artifact is resolved to a digest once, like every image).
func (r *run) checkExtraImages(images []string) {
	for _, img := range images {
		if img == "" {
			continue
		}
		if expr := unresolvedExpr(img); expr != "" {
			r.violation(CheckImageReference, "", ImageSubject(img), "image %q depends on %s (%s), which is not known before the run", img, describeExpr(expr), expr)
			continue
		}
		if _, err := name.ParseReference(img); err != nil {
			r.violation(CheckImageReference, "", ImageSubject(img), "image %q is not a valid image reference: %v", img, err)
			continue
		}
		r.useImage(img, "")
	}
}

// verifyImages resolves every distinct image reference to a digest once,
// then calls VerifyImage once per distinct digest, both on the worker pool.
func (r *run) verifyImages() {
	if (!r.imageRegistryChecks() && !r.provenanceChecks()) || len(r.images) == 0 || r.ctx.Err() != nil {
		return
	}
	refs := make([]string, 0, len(r.images))
	for img := range r.images {
		refs = append(refs, img)
	}
	sort.Strings(refs)
	if r.e.opts.Verifier == nil {
		for _, img := range refs {
			r.violation(CheckUnresolved, r.imageTask(img), ImageSubject(img),
				"signature and attestations of image %q not verified: no registry verifier is configured and images.authorities or attestations require one", img)
		}
		return
	}
	digests := make([]string, len(refs))
	errs := make([]error, len(refs))
	for i := range errs {
		// Work the pool never started (cancelled context) is not a pass.
		errs[i] = errInterrupted
	}
	r.forEach(len(refs), func(i int) {
		digests[i], errs[i] = r.e.opts.Verifier.ResolveDigest(r.ctx, refs[i])
	})
	// Group the references by digest; the first reference (sorted) names
	// the target, so findings are reproducible.
	byDigest := map[string][]string{}
	var order []string
	for i, img := range refs {
		task := r.imageTask(img)
		if r.decidedBeforeRegistry(img) {
			continue // build.go
		}
		switch err := errs[i]; {
		case err == nil && digests[i] == "":
			r.errorf(CheckRegistry, task, ImageSubject(img), false, "could not decide: image %q resolved to no digest", img)
		case errors.Is(err, ErrNotFound):
			r.violation(CheckImageSignature, task, ImageSubject(img), "image %q was not found in its registry, so it cannot be verified", img)
		case err != nil:
			r.errorf(CheckRegistry, task, ImageSubject(img), transient.Is(err), "could not decide: resolving image %q to a digest failed: %v", img, err)
		default:
			if _, ok := byDigest[digests[i]]; !ok {
				order = append(order, digests[i])
			}
			byDigest[digests[i]] = append(byDigest[digests[i]], img)
		}
	}
	results := make([]ImageResult, len(order))
	verrs := make([]error, len(order))
	for i := range verrs {
		verrs[i] = errInterrupted
	}
	r.forEach(len(order), func(i int) {
		d := order[i]
		results[i], verrs[i] = r.e.opts.Verifier.VerifyImage(r.ctx, ImageTarget{Ref: byDigest[d][0], Digest: d, Build: r.buildOf(byDigest[d])})
	})
	for i, d := range order {
		img := byDigest[d][0]
		task := r.imageTask(img)
		r.noteArtifact(d, byDigest[d])
		if verrs[i] != nil {
			r.errorf(CheckImageSignature, task, ImageSubject(img), transient.Is(verrs[i]),
				"could not decide: verifying image %q (%s) failed: %v", img, d, verrs[i])
			continue
		}
		for _, f := range results[i].Findings {
			if f.Task == "" {
				f.Task = task
			}
			if f.Subject.IsZero() {
				f.Subject = ImageSubject(img)
			}
			r.add(f)
		}
		if results[i].Verified && !results[i].Excluded {
			r.verifiedSet[d] = true
		}
		r.notes.addImage(d, task, img, results[i])
	}
}

var errInterrupted = errors.New("verification interrupted before this image was checked")

// imageTask is the task a finding about img is grouped under: the first
// task (sorted) that uses it; "" for an extra artifact only.
func (r *run) imageTask(img string) string {
	tasks := make([]string, 0, len(r.images[img]))
	for t := range r.images[img] {
		tasks = append(tasks, t)
	}
	sort.Strings(tasks)
	if len(tasks) == 0 {
		return ""
	}
	return tasks[0]
}
