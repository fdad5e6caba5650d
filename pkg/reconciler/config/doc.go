// Package config reads the config-security-gate ConfigMap, the controller's
// own settings: which policy kinds a gate run may select (a security
// boundary), the verification cache, concurrency and registry timeout.
// It is watched through knative's configmap.Watcher and handed to each
// reconcile through the context (Store.ToContext / FromContext), so a change
// applies to the next reconcile without a restart.
package config
