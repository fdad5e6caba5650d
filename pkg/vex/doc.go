// Package vex reads OpenVEX v0.2.0 documents (with github.com/openvex/go-vex)
// and decides which vulnerability findings their statements drop. It has no
// registry or Kubernetes dependency: callers verify who signed a document
// first (pkg/verify) and hand over its bytes, bounded in size, with where it
// came from.
//
// # What a document must be
//
// @context https://openvex.dev/ns/v0.2.0, an @id, an author, a timestamp and
// a version of at least 1, at most MaxStatements statements, each with a
// vulnerability name, a timestamp (its own or the document's) and at least
// one product, unless the document came in an attestation, whose subjects
// are then the products (OpenVEX's inheritance from the encapsulating
// format). Every statement must pass go-vex's Validate: a status of
// not_affected, affected, fixed or under_investigation, not_affected with a
// justification or an impact statement, affected with an action statement.
// A document that breaks any of this is malformed as a whole: Parse returns
// an error naming the statement and the field, never a document with fewer
// statements.
//
// # Which statements apply to a finding
//
// A statement applies to a finding when its vulnerability (name, @id or an
// alias) equals the finding's id or one of the finding's aliases,
// case-insensitively, and one of its products is the image:
//
//   - sha256:<hex>, or registry/repository@sha256:<hex>, the image digest;
//   - pkg:oci/<name>@sha256%3A<hex>, whose name is the image repository's
//     last path element and whose repository_url qualifier, when present, is
//     the repository;
//   - a product hash sha-256 equal to the digest's hex;
//   - an attestation subject with that digest, for a statement without
//     products;
//
// or a package the finding names by purl (github.com/openvex/go-vex's
// PurlMatches: a product purl without a version matches every version). A
// product of the image with subcomponents applies only to findings whose
// purl matches one of them; a finding without a purl matches none. An image
// product never matches by tag or by repository alone: only the digest says
// which image was meant.
//
// # Which statement wins
//
// Among the statements of every trusted document that apply to one finding,
// the one with the latest timestamp wins. Statements with the same latest
// timestamp and different statuses resolve to the status that keeps the
// finding (affected, then under_investigation), so contradictory statements
// made at the same instant never drop a finding. not_affected and fixed drop
// the finding; affected and under_investigation keep it.
package vex
