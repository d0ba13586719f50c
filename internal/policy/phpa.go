// phpa is a Holt-Winters Predictive Horizontal Pod Autoscaler in the manner of
// jthomperoo/predictive-horizontal-pod-autoscaler (PHPA): every sync it runs the HPA's
// replica calculator, stores the calculated replica count, fits Holt-Winters over the stored
// counts and predicts the next one; with decisionType "maximum" (its default) the decision is
// the largest of the calculated count and the models' predictions (PHPA seeds its list of
// predictions with the calculated count), which then goes through the HPA's behavior
// (stabilisation window, rate limits) as in PHPA.
//
// Defaults, from the PHPA documentation (docs/reference/configuration.md,
// docs/user-guide/models.md, the simple-holt-winters example):
//   - syncPeriod 15000 ms, tolerance 0.1, downscale stabilisation 300 s, HPA behavior
//     defaults: the HPA's (our hpa policy's defaults, target included: 70% CPU);
//   - decisionType maximum; perSyncPeriod 1 (the model runs every sync);
//   - Holt-Winters alpha 0.9, beta 0.9, gamma 0.9, seasonalPeriods 6, storedSeasons 4,
//     trend and seasonal additive (the documented example values: PHPA requires them and
//     has no built-in ones);
//   - a prediction needs at least 10 + 2*(seasonalPeriods/2) stored values (statsmodels'
//     minimum, which PHPA enforces); before that only the calculated count is used;
//   - the history keeps storedSeasons*seasonalPeriods values, oldest season dropped first.
//
// Parameters: alpha, beta, gamma, seasonal-periods, stored-seasons, and every hpa parameter
// (target, tolerance, window, up-pods, ...).
//
// Approximations: PHPA fits statsmodels' ExponentialSmoothing with the given weights (its
// initialisation "estimated" by default); we run the forecast package's Holt-Winters filter
// with the same weights, initialised from the first whole seasons. The predicted count is
// rounded to the nearest integer. CPU samples are as in our hpa policy.

package policy

import (
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
)

func init() {
	Register("phpa", "Predictive HPA (Holt-Winters over the HPA's calculated replicas, alpha=beta=gamma 0.9, season 6 syncs, 4 seasons stored): max of predicted and calculated, then HPA behavior; HPA defaults otherwise", false, newPHPA)
}

type phpa struct {
	base   *hpaPolicy
	model  forecast.HoltWintersFixed
	stored int       // values kept: storedSeasons * seasonalPeriods
	minN   int       // values needed for a prediction
	hist   []float64 // calculated replica counts, oldest first (len <= stored)
}

func newPHPA(env Env) (Policy, error) {
	own, rest := splitParams(env.Params, "alpha", "beta", "gamma", "seasonal-periods", "stored-seasons")
	p := newParamSet("phpa", own)
	m := forecast.HoltWintersFixed{Alpha: p.float("alpha", 0.9), Beta: p.float("beta", 0.9), Gamma: p.float("gamma", 0.9),
		Period: p.integer("seasonal-periods", 6)}
	seasons := p.integer("stored-seasons", 4)
	if p.err == nil {
		if err := m.Validate(); err != nil {
			p.fail("%v", err)
		}
		p.check(m.Period >= 2, "seasonal-periods", m.Period, "must be at least 2")
		p.check(seasons >= 1, "stored-seasons", seasons, "must be at least 1")
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	henv := env
	henv.Params = rest
	h, err := newHPA(henv)
	if err != nil {
		return nil, err
	}
	// statsmodels needs 10 + 2*(m//2) points; our filter needs two seasons. Take both.
	minN := max(10+2*(m.Period/2), m.MinHistory())
	stored := seasons * m.Period
	return &phpa{base: h.(*hpaPolicy), model: m, stored: stored, minN: minN, hist: make([]float64, 0, stored+m.Period)}, nil
}

func (p *phpa) Name() string          { return "phpa" }
func (p *phpa) Period() time.Duration { return p.base.period }

func (p *phpa) Decide(obs *Observation) Decision {
	return p.base.sync(obs, p.predict)
}

// predict stores the calculated count and forecasts the next one; like PHPA it prunes the
// history after predicting, dropping whole seasons once more than storedSeasons are held.
func (p *phpa) predict(in hpaSyncInput) (int, string, bool) {
	p.hist = append(p.hist, float64(in.calculated))
	defer func() {
		if extra := len(p.hist) - p.stored; extra >= p.model.Period {
			drop := (extra / p.model.Period) * p.model.Period
			p.hist = append(p.hist[:0], p.hist[drop:]...)
		}
	}()
	if len(p.hist) < p.minN {
		return 0, "", false
	}
	v, err := p.model.Forecast(p.hist, 1)
	if err != nil || math.IsNaN(v) {
		return 0, "", false
	}
	return max(int(math.Round(v)), 0), reasonPredictionAbove, true
}
