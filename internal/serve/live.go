package serve

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/bascaler/bascaler/internal/live"
)

// SetTargets makes set the live targets requests may name ({"target": NAME}). The caller
// steps them (live.Set.Run); a request for a tick not stepped yet steps it.
func (s *Server) SetTargets(set *live.Set) { s.targets.Store(set) }

// SetClock replaces the clock live targets are stepped at (tests).
func (s *Server) SetClock(now func() time.Time) { s.now = now }

// target finds a request's live target.
func (s *Server) target(name string) (*live.Target, error) {
	t, err := s.targets.Load().Lookup(name)
	if err != nil {
		return nil, &FieldError{Field: "target", Reason: err.Error()}
	}
	return t, nil
}

// onlyTarget refuses a request that names a target and carries an observation too: the
// server would have to pick one, silently.
func onlyTarget[T any](req T, clear func(*T)) error {
	bare := req
	clear(&bare)
	var zero T
	if !reflect.DeepEqual(bare, zero) {
		return bad("target", "a request naming a live target carries nothing else (the target's loop has the observation)")
	}
	return nil
}

// state steps t to now and turns "no decision possible" into an error.
func (s *Server) state(r *http.Request, t *live.Target) (live.State, error) {
	st := t.Current(r.Context(), s.now())
	if !st.Valid {
		return st, &httpError{http.StatusServiceUnavailable, fmt.Sprintf("target %s: not stepped yet", t.Name())}
	}
	if st.Err != nil && st.Built.IsZero() {
		// No policy yet: a read or build failure before the first decision.
		return st, &httpError{http.StatusServiceUnavailable, fmt.Sprintf("target %s: no decision yet: %v", t.Name(), st.Err)}
	}
	return st, nil
}

func (s *Server) forecastTarget(w http.ResponseWriter, r *http.Request, m *Model, req *ForecastRequest) error {
	if err := onlyTarget(*req, func(q *ForecastRequest) { q.Target, q.Model, q.Horizon = "", "", 0 }); err != nil {
		return err
	}
	t, err := s.target(req.Target)
	if err != nil {
		return err
	}
	if t.Interval() != m.Step {
		return bad("model", "model %s's step %s is not target %s's interval %s", m.Name, m.Step, t.Name(), t.Interval())
	}
	if _, err := s.state(r, t); err != nil {
		return err
	}
	h := t.History()
	if need := max(m.MinHistory(), 1); h.Len() < need {
		return &httpError{http.StatusServiceUnavailable, fmt.Sprintf("target %s: %d completed intervals so far, model %s needs %d", t.Name(), h.Len(), m.Name, need)}
	}
	start := h.Start
	fr := ForecastRequest{Step: h.Step.String(), Start: &start, History: h.Values, Horizon: req.Horizon}
	resp, err := Forecast(m, &fr)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) && fe.Field != "horizon" {
			return &httpError{http.StatusServiceUnavailable, fmt.Sprintf("target %s: %v", t.Name(), err)}
		}
		return err
	}
	resp.Target = t.Name()
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *Server) recommendTarget(w http.ResponseWriter, r *http.Request, req *RecommendRequest) error {
	if err := onlyTarget(*req, func(q *RecommendRequest) { q.Target = "" }); err != nil {
		return err
	}
	t, err := s.target(req.Target)
	if err != nil {
		return err
	}
	st, err := s.state(r, t)
	if err != nil {
		return err
	}
	resp := render(st.Step, t.Tick(), t.PolicyName(), t.Profile(), t.SLO())
	at := st.Step.At
	resp.Target, resp.At = t.Name(), &at
	if !st.Step.Decided {
		resp.Failure = st.Step.Failure.String()
		if resp.Failure == "" {
			resp.Failure = "other"
		}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
