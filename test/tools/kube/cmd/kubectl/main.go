// Command kubectl is the upstream kubectl at the version pinned in this
// module, so the e2e suite does not depend on whatever kubectl the host has.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() {
	cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand())
}
