package policy

// Mode names a policy's regime in one decision. It is typed so that backends (the
// controller's status and conditions, reports) switch on it instead of comparing strings.
type Mode uint8

// The regimes. A policy uses the ones that fit it; Steady is the ordinary one.
const (
	ModeUnset Mode = iota
	// ModeSteady: the policy's ordinary rule (the HPA's calculator, the KPA's stable window,
	// bascaler outside bursts).
	ModeSteady
	// ModeBurst: a burst is detected and the policy plans for the overestimate.
	ModeBurst
	// ModeBurstHold: the burst ended recently and the overestimate is held.
	ModeBurstHold
	// ModeGuard: a sub-interval check between interval decisions (bascaler's guard); it
	// says nothing about bursts.
	ModeGuard
	// ModeWarmingUp: not enough data yet; the decision holds or uses the last observation.
	ModeWarmingUp
	// ModePanic: the KPA's panic mode.
	ModePanic
	// ModeDisabled: the target has 0 replicas and the HPA treats autoscaling as disabled.
	ModeDisabled
	// ModeStatic: a fixed count.
	ModeStatic
	// ModeClairvoyant: the oracle.
	ModeClairvoyant
	// ModeFallback: the backend decided without the policy because metrics failed.
	ModeFallback
	// ModeIdle: no traffic; the policy scales (or stays) to zero.
	ModeIdle
	// ModePrewarm: no traffic yet, but the policy starts a pod ahead of the traffic it
	// expects (the hybrid histogram's pre-warm, bascaler's forecast).
	ModePrewarm
	// ModeWake: scaled from zero on the activator's held-request signal.
	ModeWake
)

var modeNames = [...]string{"", "steady", "burst", "burst-hold", "guard", "warming-up", "panic", "disabled", "static", "clairvoyant", "fallback", "idle", "pre-warm", "wake"}

// String returns the mode's name as shown in explanations and status ("burst", "steady").
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "unknown"
}

// InBurst reports whether the mode says the workload is bursting.
func (m Mode) InBurst() bool { return m == ModeBurst || m == ModeBurstHold }

// ForecastInfo is the forecast a decision rests on, in requests per second: the median and
// an upper quantile (the one the policy planned with). Set is false when the decision used
// no forecast.
type ForecastInfo struct {
	Set bool
	// P50 is the median forecast of the next interval's rate.
	P50 float64
	// Upper is the forecast at quantile UpperQuantile (e.g. 0.9), the planned-for value.
	Upper         float64
	UpperQuantile float64
}
