// Package k8s reads what `kubectl get pods,services,endpointslices,nodes
// -A -o json` printed (one List, or separate files as users save them) and
// names the addresses of an analysis with it: pods as namespace/pod,
// services as svc/namespace/name:port, nodes by name, and the nodes'
// tunnel addresses from their CNI annotations (flannel, Calico).
//
// Pipeline: Parse turns JSON documents into a Cluster; Cluster.Names
// takes the incident's nodes (their interface addresses, to match capture
// folders with Kubernetes nodes) and an analysis Result, and returns the
// analyze.Name entries for the addresses its flows use, which the
// renderers show next to the addresses.
package k8s
