package controller

import (
	"fmt"
	"time"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/hpa"
)

// behaviorOf turns spec.behavior into the HPA's behavior engine (package hpa, the same one
// the `hpa` policy uses), with the HPA's defaults for what the spec leaves out. A nil
// spec.behavior means no brake: policies decide what they want and only the bounds apply.
// every is the loop's tick (it sizes the engine's memory).
func behaviorOf(b *v1alpha1.Behavior, every time.Duration) (*hpa.Behavior, error) {
	if b == nil {
		return nil, nil
	}
	up, err := rulesOf(b.ScaleUp, hpa.DefaultScaleUp())
	if err != nil {
		return nil, fmt.Errorf("spec.behavior.scaleUp: %w", err)
	}
	down, err := rulesOf(b.ScaleDown, hpa.DefaultScaleDown())
	if err != nil {
		return nil, fmt.Errorf("spec.behavior.scaleDown: %w", err)
	}
	return hpa.NewBehavior(up, down, every)
}

func rulesOf(r *v1alpha1.ScalingRules, def hpa.Rules) (hpa.Rules, error) {
	if r == nil {
		return def, nil
	}
	out := def
	if r.StabilizationWindowSeconds != nil {
		out.Window = time.Duration(*r.StabilizationWindowSeconds) * time.Second
	}
	if r.SelectPolicy != "" {
		s, err := hpa.ParseSelect(r.SelectPolicy)
		if err != nil {
			return out, err
		}
		out.Select = s
	}
	if len(r.Policies) > 0 {
		out.Policies = nil
		for i, p := range r.Policies {
			k := hpa.Pods
			switch p.Type {
			case v1alpha1.PodsPolicy:
			case v1alpha1.PercentPolicy:
				k = hpa.Percent
			default:
				return out, fmt.Errorf("policies[%d].type %q (valid: %s, %s)", i, p.Type, v1alpha1.PodsPolicy, v1alpha1.PercentPolicy)
			}
			out.Policies = append(out.Policies, hpa.RatePolicy{Kind: k, Value: float64(p.Value), Period: time.Duration(p.PeriodSeconds) * time.Second})
		}
	}
	return out, nil
}

// limitReason is the status reason for a limit the driver applied.
func limitReason(l hpa.Limit) string {
	switch l {
	case hpa.LimitUpStabilization, hpa.LimitDownStabilization:
		return v1alpha1.ReasonStabilized
	case hpa.LimitUpRate:
		return v1alpha1.ReasonScaleUpLimit
	case hpa.LimitDownRate:
		return v1alpha1.ReasonScaleDownLimit
	case hpa.LimitMax:
		return v1alpha1.ReasonTooManyReplicas
	case hpa.LimitMin:
		return v1alpha1.ReasonTooFewReplicas
	}
	return ""
}
