// Command render prints an example file with its placeholders substituted,
// for `kubectl apply -f -` or a bundle push:
//
//	go run ./examples/render -f examples/pipeline.yaml REGISTRY=… DIGEST_TASKS=sha256:…
//
// A value written @FILE is read from FILE (PUBLIC_KEY=@cosign.pub). It fails,
// naming the placeholder, when one is left without a value.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/security-gate/security-gate/examples"
)

func main() {
	file := flag.String("f", "", "example file to render (required)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: render -f FILE [NAME=VALUE | NAME=@FILE]...\nplaceholders:\n")
		for k, v := range examples.Placeholders {
			fmt.Fprintf(os.Stderr, "  %-24s %s\n", k, v)
		}
	}
	flag.Parse()
	if *file == "" {
		flag.Usage()
		os.Exit(2)
	}
	vars := map[string]string{}
	for _, a := range flag.Args() {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			fail(fmt.Errorf("argument %q: want NAME=VALUE", a))
		}
		if strings.HasPrefix(v, "@") {
			b, err := os.ReadFile(v[1:])
			if err != nil {
				fail(err)
			}
			v = string(b)
		}
		vars[k] = v
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		fail(err)
	}
	out, err := examples.Render(filepath.Base(*file), data, vars)
	if err != nil {
		fail(err)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "render:", err)
	os.Exit(1)
}
