package scale

import (
	"context"
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

// Unit tests with controller-runtime's fake client; the integration tests in
// internal/controller run the same code against a real API server.

var ref = Ref{Namespace: "ns", APIVersion: "apps/v1", Kind: "Deployment", Name: "shop"}

// scaleFuncs stand in for the API server's scale subresource (the fake client serves it
// only as typed objects; the scaler reads it unstructured, as a real server allows).
// conflicts is how many updates fail with a conflict first.
func scaleFuncs(conflicts *int) interceptor.Funcs {
	return interceptor.Funcs{
		SubResourceGet: func(ctx context.Context, cl client.Client, sub string, obj, body client.Object, _ ...client.SubResourceGetOption) error {
			d := &appsv1.Deployment{}
			if err := cl.Get(ctx, client.ObjectKeyFromObject(obj), d); err != nil {
				return err
			}
			u := body.(*unstructured.Unstructured)
			_ = unstructured.SetNestedField(u.Object, int64(*d.Spec.Replicas), "spec", "replicas")
			_ = unstructured.SetNestedField(u.Object, int64(d.Status.Replicas), "status", "replicas")
			return nil
		},
		SubResourceUpdate: func(ctx context.Context, cl client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			if *conflicts > 0 {
				*conflicts--
				return apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, "shop", errors.New("changed meanwhile"))
			}
			o := &client.SubResourceUpdateOptions{}
			o.ApplyOptions(opts)
			n, _, _ := unstructured.NestedInt64(o.SubResourceBody.(*unstructured.Unstructured).Object, "spec", "replicas")
			d := &appsv1.Deployment{}
			if err := cl.Get(ctx, client.ObjectKeyFromObject(obj), d); err != nil {
				return err
			}
			d.Spec.Replicas = ptr.To(int32(n))
			return cl.Update(ctx, d)
		},
	}
}

func shop() *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "shop"},
		Spec:   appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)},
		Status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2}}
}

func TestSetRetriesOnConflict(t *testing.T) {
	conflicts := 2
	c := fake.NewClientBuilder().WithObjects(shop()).WithInterceptorFuncs(scaleFuncs(&conflicts)).Build()
	k := Kubernetes{Client: c}
	if err := k.Set(context.Background(), ref, 7); err != nil {
		t.Fatalf("Set after two conflicts: %v", err)
	}
	st, err := k.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.Replicas != 7 || conflicts != 0 {
		t.Errorf("replicas %d after retries (conflicts left %d), want 7", st.Replicas, conflicts)
	}
}

func TestGetReadsReadyReplicas(t *testing.T) {
	none := 0
	k := Kubernetes{Client: fake.NewClientBuilder().WithObjects(shop()).WithInterceptorFuncs(scaleFuncs(&none)).Build()}
	st, err := k.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if st.Replicas != 3 || st.Ready != 2 {
		t.Errorf("state %+v, want 3 replicas, 2 ready", st)
	}
}

func TestGetMissingTarget(t *testing.T) {
	k := Kubernetes{Client: fake.NewClientBuilder().Build()}
	if _, err := k.Get(context.Background(), ref); !errors.Is(err, ErrTargetNotFound) {
		t.Errorf("error %v, want ErrTargetNotFound", err)
	}
	bad := ref
	bad.APIVersion = "a/b/c"
	if _, err := k.Get(context.Background(), bad); err == nil {
		t.Error("malformed apiVersion accepted")
	}
}

// The apps/v1 kinds are read as typed objects (from a manager's cache): no scale
// subresource request on a control tick, and the same state the subresource reports.
func TestGetReadsAppsKindsWithoutTheSubresource(t *testing.T) {
	reads := 0
	none := 0
	funcs := scaleFuncs(&none)
	sub := funcs.SubResourceGet
	funcs.SubResourceGet = func(ctx context.Context, cl client.Client, s string, obj, body client.Object, opts ...client.SubResourceGetOption) error {
		reads++
		return sub(ctx, cl, s, obj, body, opts...)
	}
	d := shop()
	d.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db"},
		Spec:   appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}},
		Status: appsv1.StatefulSetStatus{Replicas: 2, ReadyReplicas: 1}}
	k := Kubernetes{Client: fake.NewClientBuilder().WithObjects(d, sts).WithInterceptorFuncs(funcs).Build()}
	for _, tc := range []struct {
		ref  Ref
		want State
	}{
		{ref, State{Replicas: 3, Current: 3, Ready: 2, Selector: "app=shop,tier in (web)"}},
		{Ref{Namespace: "ns", APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db"}, State{Replicas: 2, Current: 2, Ready: 1, Selector: "app=db"}},
	} {
		st, err := k.Get(context.Background(), tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		if st != tc.want {
			t.Errorf("%s: state %+v, want %+v", tc.ref, st, tc.want)
		}
	}
	if reads != 0 {
		t.Errorf("%d scale subresource reads for apps/v1 kinds, want 0", reads)
	}
	if _, err := k.Get(context.Background(), Ref{Namespace: "ns", APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "gone"}); !errors.Is(err, ErrTargetNotFound) {
		t.Errorf("missing ReplicaSet: error %v, want ErrTargetNotFound", err)
	}
}
