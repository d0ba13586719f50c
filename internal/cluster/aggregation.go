package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// FrontProxyClient is the name (certificate CN) the API server's aggregator proxy presents
// to aggregated API servers; they accept X-Remote-User headers only from a client with it.
const FrontProxyClient = "front-proxy-client"

// EnableAggregation lets env's kube-apiserver proxy aggregated APIs (APIService objects, as
// metrics-server and external-metrics adapters use): envtest starts kube-apiserver without
// a front proxy, so an aggregated server could not tell who sent a proxied request. It
// writes a front-proxy CA and a client certificate it signed (CN FrontProxyClient) to dir
// and sets the flags a kubeadm cluster sets: --proxy-client-cert-file/--proxy-client-key-file
// (the certificate the proxy presents) and --requestheader-client-ca-file,
// --requestheader-allowed-names and the X-Remote-* header names (published in
// kube-system/extension-apiserver-authentication, where aggregated servers read them).
// Call it before env.Start.
func EnableAggregation(env *envtest.Environment, dir string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("cluster: front-proxy CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "front-proxy-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("cluster: front-proxy CA: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("cluster: front-proxy CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("cluster: front-proxy client key: %w", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: FrontProxyClient},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("cluster: front-proxy client certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("cluster: front-proxy client key: %w", err)
	}
	files := map[string]*pem.Block{
		"front-proxy-ca.crt":     {Type: "CERTIFICATE", Bytes: caDER},
		"front-proxy-client.crt": {Type: "CERTIFICATE", Bytes: der},
		"front-proxy-client.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	args := env.ControlPlane.GetAPIServer().Configure()
	args.Set("proxy-client-cert-file", filepath.Join(dir, "front-proxy-client.crt"))
	args.Set("proxy-client-key-file", filepath.Join(dir, "front-proxy-client.key"))
	args.Set("requestheader-client-ca-file", filepath.Join(dir, "front-proxy-ca.crt"))
	args.Set("requestheader-allowed-names", FrontProxyClient)
	args.Set("requestheader-username-headers", "X-Remote-User")
	args.Set("requestheader-group-headers", "X-Remote-Group")
	args.Set("requestheader-extra-headers-prefix", "X-Remote-Extra-")
	return nil
}

// APIServiceNamespace holds the ExternalName Services that RegisterAPIService creates.
const APIServiceNamespace = "kube-system"

// RegisterAPIService registers group/version as an aggregated API served on loopback at
// port by a server with any certificate (insecureSkipTLSVerify: tests only), and waits
// until the API server reports it Available (it has fetched the group's discovery through
// the front proxy). The Service is of type ExternalName ("localhost"): the API server
// resolves it by name, where a ClusterIP would need kube-proxy and an EndpointSlice may
// not hold a loopback address. Undo it with UnregisterAPIService.
func RegisterAPIService(ctx context.Context, c client.Client, group, version string, port int, timeout time.Duration) error {
	name := apiServiceName(group, version)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: APIServiceNamespace, Name: serviceName(group)},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost"}}
	if err := c.Create(ctx, svc); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("cluster: create Service %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	as := apiService(name)
	as.Object["spec"] = map[string]any{"group": group, "version": version, "insecureSkipTLSVerify": true,
		"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
		"service": map[string]any{"namespace": svc.Namespace, "name": svc.Name, "port": int64(port)}}
	if err := c.Create(ctx, as); err != nil {
		return fmt.Errorf("cluster: create APIService %s: %w", name, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		got := apiService(name)
		err := c.Get(ctx, client.ObjectKey{Name: name}, got)
		msg := fmt.Sprint(err)
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			msg = fmt.Sprint(conds)
			for _, cd := range conds {
				m, _ := cd.(map[string]any)
				if m["type"] == "Available" && m["status"] == "True" {
					return nil
				}
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("cluster: APIService %s not Available within %v: %s", name, timeout, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// UnregisterAPIService deletes what RegisterAPIService created.
func UnregisterAPIService(ctx context.Context, c client.Client, group, version string) error {
	var errs []error
	if err := c.Delete(ctx, apiService(apiServiceName(group, version))); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: APIServiceNamespace, Name: serviceName(group)}}
	if err := c.Delete(ctx, svc); err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func apiServiceName(group, version string) string { return version + "." + group }

// serviceName is a DNS label for group: dots become dashes, cut to 63 characters.
func serviceName(group string) string {
	s := "aggregated-" + strings.ReplaceAll(group, ".", "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

func apiService(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion("apiregistration.k8s.io/v1")
	u.SetKind("APIService")
	u.SetName(name)
	return u
}
