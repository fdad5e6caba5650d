package v1alpha1

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Bounds on a serialized TUF repository (keyless.tuf.repository): the public
// Sigstore repository serializes to a few tens of KiB.
const (
	maxTUFFiles     = 1024
	maxTUFFileSize  = 4 << 20
	maxTUFTotalSize = 16 << 20
)

// Files decodes Repository into the repository's files by path (as a mirror
// serves them). It reads at most the bounds above and refuses paths that
// leave the repository.
func (r *TUFRepository) Files() (map[string][]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(r.Repository), ""))
	if err != nil {
		return nil, fmt.Errorf("not base64: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("not a gzip-compressed tar: %v", err)
	}
	tr := tar.NewReader(io.LimitReader(zr, maxTUFTotalSize+1))
	files := map[string][]byte{}
	total := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the tar: %v", err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return nil, fmt.Errorf("%q is not a regular file", h.Name)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." || path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return nil, fmt.Errorf("%q is outside the repository", h.Name)
		}
		if len(files) == maxTUFFiles {
			return nil, fmt.Errorf("more than %d files", maxTUFFiles)
		}
		if h.Size > maxTUFFileSize {
			return nil, fmt.Errorf("%q is %d bytes, more than %d", name, h.Size, maxTUFFileSize)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxTUFFileSize+1))
		if err != nil {
			return nil, fmt.Errorf("reading %q: %v", name, err)
		}
		if total += len(b); total > maxTUFTotalSize {
			return nil, fmt.Errorf("more than %d bytes in all", maxTUFTotalSize)
		}
		files[name] = b
	}
	if _, ok := files["timestamp.json"]; !ok {
		return nil, errors.New("no timestamp.json: not a TUF repository as a mirror serves it")
	}
	return files, nil
}

// EncodeTUFRepository is the inverse of Files: the value for
// keyless.tuf.repository holding files (path → content).
func EncodeTUFRepository(files map[string][]byte) (string, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return "", err
		}
		if _, err := tw.Write(b); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
