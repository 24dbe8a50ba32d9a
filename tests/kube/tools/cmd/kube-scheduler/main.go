// kube-scheduler built from k8s.io/kubernetes for Yunhui's tests: without it
// pods get no node, and kwok only runs pods that are bound to its nodes.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	os.Exit(cli.Run(app.NewSchedulerCommand()))
}
