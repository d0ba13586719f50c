package extmetrics

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/metrics/pkg/apis/external_metrics"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

// MetricName is the external metric whose value is an autoscaler's desired replicas.
const MetricName = "bascaler-desired-replicas"

// The labels of a series: a selector such as autoscaler=web picks one autoscaler.
const (
	LabelAutoscaler = "autoscaler" // the BurstAwareAutoscaler's name
	LabelTarget     = "target"     // the name of its spec.scaleTargetRef
)

// StaleIntervals is how many of its intervals an autoscaler's last decision may be old
// before its value is refused: three missed decisions mean the controller is not deciding
// (stopped, or failing to read metrics without a fallback), and the HPA should hold.
const StaleIntervals = 3

// defaultInterval is spec.interval's default (the CRD's, and the controller's for objects
// written before it).
const defaultInterval = 60 * time.Second

// Provider answers external-metric queries from the BurstAwareAutoscalers' status.
type Provider struct {
	// Reader lists BurstAwareAutoscalers: the controller manager's cache, or a client.
	Reader client.Reader
	// Now is the clock for staleness; nil means time.Now.
	Now func() time.Time
}

var _ provider.ExternalMetricsProvider = (*Provider)(nil)

// ListAllExternalMetrics names the one metric served.
func (p *Provider) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	return []provider.ExternalMetricInfo{{Metric: MetricName}}
}

// GetExternalMetric returns one value per autoscaler in namespace whose labels match
// selector. It fails (and the HPA holds its replicas) when the metric is unknown, nothing
// matches, or any matching autoscaler has no fresh decision to give: the HPA sums the
// values, so a missing one would understate the total.
func (p *Provider) GetExternalMetric(ctx context.Context, namespace string, selector labels.Selector, info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	if info.Metric != MetricName {
		return nil, notFound(fmt.Sprintf("external metric %q is not served here: the one metric is %q", info.Metric, MetricName))
	}
	if selector == nil {
		selector = labels.Everything()
	}
	var list v1alpha1.BurstAwareAutoscalerList
	if err := p.Reader.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list BurstAwareAutoscalers in namespace %s: %w", namespace, err))
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	out := &external_metrics.ExternalMetricValueList{}
	for i := range list.Items {
		b := &list.Items[i]
		lbl := Labels(b)
		if !selector.Matches(labels.Set(lbl)) {
			continue
		}
		v, err := value(b, now())
		if err != nil {
			return nil, err
		}
		v.MetricLabels = lbl
		out.Items = append(out.Items, v)
	}
	if len(out.Items) == 0 {
		return nil, notFound(fmt.Sprintf("no BurstAwareAutoscaler in namespace %s matches selector %q (series are labelled %s=NAME and %s=TARGET)",
			namespace, selector.String(), LabelAutoscaler, LabelTarget))
	}
	return out, nil
}

// Labels are the series labels of b.
func Labels(b *v1alpha1.BurstAwareAutoscaler) map[string]string {
	return map[string]string{LabelAutoscaler: b.Name, LabelTarget: b.Spec.ScaleTargetRef.Name}
}

// value is b's desired replicas, or the reason the HPA must not act on it now.
func value(b *v1alpha1.BurstAwareAutoscaler, now time.Time) (external_metrics.ExternalMetricValue, error) {
	where := fmt.Sprintf("BurstAwareAutoscaler %s/%s", b.Namespace, b.Name)
	if b.Annotations[v1alpha1.PausedAnnotation] == "true" {
		return external_metrics.ExternalMetricValue{}, unavailable(fmt.Sprintf("%s is paused (annotation %s): no desired replicas to follow", where, v1alpha1.PausedAnnotation))
	}
	d := b.Status.LastDecision
	if d == nil {
		return external_metrics.ExternalMetricValue{}, unavailable(fmt.Sprintf("%s has made no decision yet (is the bascaler controller running? see its conditions)", where))
	}
	interval := defaultInterval
	if b.Spec.Interval != nil && b.Spec.Interval.Duration > 0 {
		interval = b.Spec.Interval.Duration
	}
	if age, limit := now.Sub(d.Time.Time), StaleIntervals*interval; age > limit {
		return external_metrics.ExternalMetricValue{}, unavailable(fmt.Sprintf("%s last decided %v ago, more than %d intervals of %v (is the bascaler controller running? are its metrics readable?)",
			where, age.Truncate(time.Second), StaleIntervals, interval))
	}
	return external_metrics.ExternalMetricValue{MetricName: MetricName, Timestamp: d.Time,
		Value: *resource.NewQuantity(int64(b.Status.DesiredReplicas), resource.DecimalSI)}, nil
}

func notFound(msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotFound,
		Reason: metav1.StatusReasonNotFound, Message: msg}}
}

func unavailable(msg string) error { return apierrors.NewServiceUnavailable(msg) }
