// Package cluster starts a one-machine Kubernetes cluster for tests and demos, with no
// container runtime: etcd and kube-apiserver (envtest), kube-controller-manager (the
// Deployment, ReplicaSet and StatefulSet controllers, optionally the HPA's), kube-scheduler
// (node capacity, Pending and unschedulable pods) and KWOK, which plays the kubelets of fake
// nodes the caller adds and marks pods Running and Ready after a configured delay that stands
// for the start-up delay. The binaries come from hack/tools/build.sh; everything listens on
// 127.0.0.1.
package cluster
