package manifest

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Stdin is the path that names standard input.
const Stdin = "-"

// Load reads every path in order: "-" is stdin, a directory is walked
// recursively (files ending in .yaml, .yml or .json, in lexical order), any
// other path is read as a file whatever its extension. The first error stops
// the load; it names the file and, for a bad document, its number.
func Load(paths []string, stdin io.Reader) ([]Document, error) {
	var docs []Document
	stdinRead := false
	for _, p := range paths {
		if p == Stdin {
			if stdinRead {
				return nil, &Error{Source: "<stdin>", Err: fmt.Errorf("stdin given more than once")}
			}
			stdinRead = true
			if stdin == nil {
				return nil, &Error{Source: "<stdin>", Err: fmt.Errorf("no standard input")}
			}
			d, err := Parse(stdin, "<stdin>")
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
			continue
		}
		d, err := loadPath(p)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

func loadPath(p string) ([]Document, error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, &Error{Source: p, Err: err}
	}
	if !info.IsDir() {
		return loadFile(p)
	}
	var docs []Document
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return &Error{Source: path, Err: err}
		}
		if d.IsDir() || !isManifestFile(path) {
			return nil
		}
		fd, err := loadFile(path)
		if err != nil {
			return err
		}
		docs = append(docs, fd...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return docs, nil
}

func isManifestFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func loadFile(p string) ([]Document, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, &Error{Source: p, Err: err}
	}
	defer func() { _ = f.Close() }() // read only
	return Parse(f, p)
}
