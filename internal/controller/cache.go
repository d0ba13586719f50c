package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/cache"
)

// CacheOptions are the manager's cache settings for this controller. The cache holds every
// scale target of the apps/v1 kinds (the scaler reads them from it on every tick), the
// autoscalers and the pods; it keeps them without managedFields, and the workloads without
// their pod template, which the controller never reads (it needs replicas, selector and
// status). The manager's client must then not be used to update those workloads from the
// cache: the scaler writes only their scale subresource.
func CacheOptions() cache.Options {
	return cache.Options{DefaultTransform: trimCached}
}

func trimCached(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Template = corev1.PodTemplateSpec{}
	case *appsv1.StatefulSet:
		o.Spec.Template, o.Spec.VolumeClaimTemplates = corev1.PodTemplateSpec{}, nil
	case *appsv1.ReplicaSet:
		o.Spec.Template = corev1.PodTemplateSpec{}
	}
	return obj, nil
}
