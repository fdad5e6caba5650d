package customrun

import (
	"cmp"
	"context"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/security-gate/security-gate/pkg/gate"
	secoci "github.com/security-gate/security-gate/pkg/oci"
	"github.com/security-gate/security-gate/pkg/policyload"
	"github.com/security-gate/security-gate/pkg/reconciler/config"
	"github.com/security-gate/security-gate/pkg/transient"
	"github.com/security-gate/security-gate/pkg/version"
	"github.com/security-gate/security-gate/pkg/vsa"
)

// Keys of the signing Secret, as `cosign generate-key-pair k8s://…` writes
// them.
const (
	secretKeyPrivate  = "cosign.key"
	secretKeyPassword = "cosign.password"
)

// SummaryKeyGetter reads the Secret named by vsa-signing-secret in the
// controller's namespace: its data and resourceVersion.
type SummaryKeyGetter func(ctx context.Context, namespace, name string) (map[string][]byte, string, error)

// SecretSummaryKeys reads the signing Secret with one GET (the controller
// may get, never list, Secrets).
func SecretSummaryKeys(kube kubernetes.Interface) SummaryKeyGetter {
	return func(ctx context.Context, ns, name string) (map[string][]byte, string, error) {
		s, err := kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, "", err
		}
		return s.Data, s.ResourceVersion, nil
	}
}

// signers keeps the signer of the current Secret version: decrypting a
// cosign key is deliberately slow, and the key rarely changes.
var signers struct {
	mu      sync.Mutex
	version string
	signer  *vsa.Signer
}

// signer returns the summary signer from the Secret cfg names. API trouble
// reading it is transient; a Secret that is missing, forbidden or holds no
// usable key is not.
func (r *Reconciler) signer(ctx context.Context, cfg *config.Config) (*vsa.Signer, error) {
	where := fmt.Sprintf("secret %s/%s (config-security-gate %s)", r.SystemNamespace, cfg.VSA.SigningSecret, config.KeyVSASigningSecret)
	if r.SummaryKeys == nil {
		return nil, fmt.Errorf("%s: the controller cannot read Secrets", where)
	}
	data, rv, err := r.SummaryKeys(ctx, r.SystemNamespace, cfg.VSA.SigningSecret)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", where, transient.API(err))
	}
	key := r.SystemNamespace + "/" + cfg.VSA.SigningSecret + "@" + rv
	signers.mu.Lock()
	defer signers.mu.Unlock()
	if signers.signer != nil && signers.version == key {
		return signers.signer, nil
	}
	pem, ok := data[secretKeyPrivate]
	if !ok {
		return nil, fmt.Errorf("%s has no key %q (the private key, as cosign generate-key-pair k8s://… writes it)", where, secretKeyPrivate)
	}
	s, err := vsa.LoadSigner(pem, data[secretKeyPassword])
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", where, secretKeyPrivate, err)
	}
	signers.version, signers.signer = key, s
	return s, nil
}

// summarize writes the verification summaries of a pass when
// config-security-gate names a signing Secret, with the run's registry
// credentials (then the controller's). An inline policy gets none: a
// summary names a policy a later gate can trust, and an inline one is the
// pipeline author's. Failing to write one that was asked for is an error
// finding: the attempt could not decide, and is retried when transient.
func (r *Reconciler) summarize(ctx context.Context, cfg *config.Config, p *policyload.Policy, kc authn.Keychain, rep *gate.Report) {
	if cfg.VSA.SigningSecret == "" || rep == nil {
		return
	}
	if v := gate.Decide(rep); (v != gate.VerdictPass && v != gate.VerdictWarn) || len(rep.VerifiedImages) == 0 {
		return
	}
	fail := func(err error) {
		rep.Errors = append(rep.Errors, gate.Finding{Check: gate.CheckVerificationSummary, Subject: gate.TextSubject(p.String()), Severity: gate.SeverityError,
			Transient: transient.Is(err), Message: "could not decide: verification summaries cannot be written: " + err.Error()})
		rep.Verdict = gate.Decide(rep)
	}
	if p.Inline {
		rep.Notes = append(rep.Notes, gate.Note{Check: gate.CheckVerificationSummary, Subject: gate.TextSubject(p.String()),
			Message: "no verification summary written: the policy is inline (customSpec), and a summary must name a policy a later gate can trust"})
		gate.SortNotes(rep.Notes)
		return
	}
	ref := vsa.PolicyRef{Kind: p.Kind, Namespace: p.ObjectMeta.Namespace, Name: p.ObjectMeta.Name}
	digest, err := vsa.SpecDigest(&p.Spec)
	if err != nil {
		fail(err)
		return
	}
	ref.Digest = digest
	s, err := r.signer(ctx, cfg)
	if err != nil {
		fail(err)
		return
	}
	layouts, err := vsa.ParseLayouts(cmp.Or(cfg.VSA.Layout, config.DefaultVSALayout))
	if err != nil {
		fail(err)
		return
	}
	verifierID := cmp.Or(cfg.VSA.VerifierID, vsa.DefaultVerifierID)
	w := &vsa.Writer{Signer: s, Layouts: layouts, Now: r.Clock.Now, Options: func(ctx context.Context) []remote.Option {
		return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc),
			remote.WithTransport(secoci.Transport(secoci.Options{Timeout: cfg.RegistryTimeout}))}
	}}
	vsa.Summarize(ctx, w, rep, vsa.Pass{
		Policy: ref, Mode: p.Spec.Mode, VerifierID: verifierID, Version: version.String(),
		Now: r.Clock.Now(),
	})
}
