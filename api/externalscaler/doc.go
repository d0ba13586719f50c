// Package externalscaler holds the Go stubs of KEDA's external scaler gRPC interface
// (externalscaler.proto in this directory), generated with protoc-gen-go and
// protoc-gen-go-grpc. bascaler serves it (internal/kedascaler) so that a KEDA ScaledObject
// with an external trigger follows bascaler's decisions.
package externalscaler

//go:generate ../../hack/gen-externalscaler.sh
