package scale

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Ref names a scale target.
type Ref struct {
	Namespace, APIVersion, Kind, Name string
}

func (r Ref) String() string { return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name) }

// State is a target's replica counts.
type State struct {
	// Replicas is the desired count (spec.replicas).
	Replicas int32
	// Current is the count the workload controller reports (status.replicas).
	Current int32
	// Ready is status.readyReplicas when the kind reports it, else Current.
	Ready int32
	// Selector is the label selector of the target's pods, as a string.
	Selector string
}

// Scaler reads and sets a target's replicas.
type Scaler interface {
	Get(ctx context.Context, ref Ref) (State, error)
	Set(ctx context.Context, ref Ref, replicas int32) error
}

// Errors a caller tells apart (errors.Is).
var (
	// ErrTargetNotFound: the target object does not exist.
	ErrTargetNotFound = errors.New("scale target not found")
	// ErrNoScale: the target's kind is unknown or has no scale subresource.
	ErrNoScale = errors.New("scale target has no scale subresource")
)

// Kubernetes is a Scaler that uses the API server's scale subresource, so it works for any
// kind that has one (Deployments, StatefulSets, ReplicaSets, custom resources).
type Kubernetes struct {
	Client client.Client
}

func (k Kubernetes) object(ref Ref) (*unstructured.Unstructured, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("%s: bad apiVersion %q: %w", ref, ref.APIVersion, err)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gv.WithKind(ref.Kind))
	u.SetNamespace(ref.Namespace)
	u.SetName(ref.Name)
	return u, nil
}

func (k Kubernetes) wrap(ref Ref, op string, err error) error {
	switch {
	case meta.IsNoMatchError(err):
		return fmt.Errorf("%s: %s: %w: %v", ref, op, ErrNoScale, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: %s: %w: %v", ref, op, ErrTargetNotFound, err)
	case apierrors.IsMethodNotSupported(err):
		return fmt.Errorf("%s: %s: %w: %v", ref, op, ErrNoScale, err)
	}
	return fmt.Errorf("%s: %s: %w", ref, op, err)
}

// Get implements Scaler. The apps/v1 kinds (Deployment, StatefulSet, ReplicaSet) are read
// as typed objects, which a manager's client serves from its informer cache: their scale
// subresource is spec.replicas, status.replicas and spec.selector, so a control tick costs
// no request to the API server (the subresource read cost two: the object for its ready
// count, then the scale). Other kinds are read through the scale subresource.
func (k Kubernetes) Get(ctx context.Context, ref Ref) (State, error) {
	if st, ok, err := k.getApps(ctx, ref); ok {
		return st, err
	}
	obj, err := k.object(ref)
	if err != nil {
		return State{}, err
	}
	if err := k.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return State{}, k.wrap(ref, "get", err)
	}
	sc := newScale()
	if err := k.Client.SubResource("scale").Get(ctx, obj, sc); err != nil {
		if apierrors.IsNotFound(err) {
			// The object exists (read above), so a 404 here means no scale subresource.
			return State{}, fmt.Errorf("%s: get scale: %w: %v", ref, ErrNoScale, err)
		}
		return State{}, k.wrap(ref, "get scale", err)
	}
	spec, _, _ := unstructured.NestedInt64(sc.Object, "spec", "replicas")
	cur, _, _ := unstructured.NestedInt64(sc.Object, "status", "replicas")
	sel, _, _ := unstructured.NestedString(sc.Object, "status", "selector")
	st := State{Replicas: int32(spec), Current: int32(cur), Ready: int32(cur), Selector: sel}
	if ready, found, err := unstructured.NestedInt64(obj.Object, "status", "readyReplicas"); err == nil && found {
		st.Ready = int32(ready)
	} else if err == nil && !found && hasStatus(obj) {
		st.Ready = 0 // Deployments omit readyReplicas when none is ready
	}
	return st, nil
}

// getApps reads an apps/v1 Deployment, StatefulSet or ReplicaSet as a typed object; ok is
// false for other kinds (and when the client's scheme does not know apps/v1).
func (k Kubernetes) getApps(ctx context.Context, ref Ref) (st State, ok bool, err error) {
	if ref.APIVersion != "apps/v1" {
		return State{}, false, nil
	}
	var (
		obj      client.Object
		replicas func() (spec *int32, cur, ready int32, sel *metav1.LabelSelector)
	)
	switch ref.Kind {
	case "Deployment":
		d := &appsv1.Deployment{}
		obj, replicas = d, func() (*int32, int32, int32, *metav1.LabelSelector) {
			return d.Spec.Replicas, d.Status.Replicas, d.Status.ReadyReplicas, d.Spec.Selector
		}
	case "StatefulSet":
		s := &appsv1.StatefulSet{}
		obj, replicas = s, func() (*int32, int32, int32, *metav1.LabelSelector) {
			return s.Spec.Replicas, s.Status.Replicas, s.Status.ReadyReplicas, s.Spec.Selector
		}
	case "ReplicaSet":
		r := &appsv1.ReplicaSet{}
		obj, replicas = r, func() (*int32, int32, int32, *metav1.LabelSelector) {
			return r.Spec.Replicas, r.Status.Replicas, r.Status.ReadyReplicas, r.Spec.Selector
		}
	default:
		return State{}, false, nil
	}
	if err := k.Client.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, obj); err != nil {
		if runtime.IsNotRegisteredError(err) {
			return State{}, false, nil
		}
		return State{}, true, k.wrap(ref, "get", err)
	}
	spec, cur, ready, ls := replicas()
	st = State{Replicas: 1, Current: cur, Ready: ready}
	if spec != nil {
		st.Replicas = *spec // the API server defaults it to 1
	}
	if ls != nil {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			return State{}, true, fmt.Errorf("%s: spec.selector: %w", ref, err)
		}
		st.Selector = sel.String()
	}
	return st, true, nil
}

// hasStatus reports whether the object reports a status with replicas: then a missing
// readyReplicas field means zero, as the apps/v1 kinds omit zero values.
func hasStatus(obj *unstructured.Unstructured) bool {
	_, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "status", "replicas")
	return found || obj.GetAPIVersion() == "apps/v1"
}

// newScale returns an empty autoscaling/v1 Scale as unstructured: the client reads
// unstructured objects' subresources only into unstructured bodies.
func newScale() *unstructured.Unstructured {
	sc := &unstructured.Unstructured{}
	sc.SetGroupVersionKind(autoscalingv1.SchemeGroupVersion.WithKind("Scale"))
	return sc
}

// Set implements Scaler. It re-reads and retries when another writer changed the scale in
// between (a conflict), as every controller that shares an object must.
func (k Kubernetes) Set(ctx context.Context, ref Ref, replicas int32) error {
	obj, err := k.object(ref)
	if err != nil {
		return err
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sc := newScale()
		if err := k.Client.SubResource("scale").Get(ctx, obj, sc); err != nil {
			return err
		}
		if cur, _, _ := unstructured.NestedInt64(sc.Object, "spec", "replicas"); cur == int64(replicas) {
			return nil
		}
		if err := unstructured.SetNestedField(sc.Object, int64(replicas), "spec", "replicas"); err != nil {
			return err
		}
		return k.Client.SubResource("scale").Update(ctx, obj, client.WithSubResourceBody(sc))
	})
	if err != nil {
		return k.wrap(ref, "update scale", err)
	}
	return nil
}
