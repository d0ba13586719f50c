package controller

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
)

// TrainingJobLabel labels the training Jobs of an autoscaler (value: its name).
const TrainingJobLabel = "autoscaling.bascaler.io/autoscaler"

// jobModel is a challenger trained by a Job: already a registry version.
type jobModel struct {
	forecast.Forecaster
	id string
}

func jobVersion(f forecast.Forecaster) (string, bool) {
	if j, ok := f.(jobModel); ok {
		return j.id, true
	}
	return "", false
}

// given is the serving policy whose Refit returns a challenger trained elsewhere (a Job),
// so sim.Evaluate judges it exactly as it judges an in-process fit.
type given struct {
	policy.Retrainable
	f forecast.Forecaster
}

func (g given) Refit(series.Series, int64) (forecast.Forecaster, error) { return g.f, nil }

// TrainingJobArgs is the command line of the training Job for an autoscaler: `bascaler
// forecast train` on the rate the controller reads (the spec's Prometheus preset and
// target) over [from, to) in periods of the interval, writing a version into the registry
// at regDir (as the Job mounts it) and pointing the challenger alias at it. The last
// quarter validates, as in the controller's own fits.
// The horizon is the start-up lead time in intervals plus one (what the policy plans over).
func TrainingJobArgs(baa *v1alpha1.BurstAwareAutoscaler, kind, regDir string, from, to time.Time, interval, startup time.Duration, seed int64) []string {
	m := baa.Spec.Metrics
	preset := m.Preset
	if preset == "" {
		preset = v1alpha1.PresetIstio
	}
	args := []string{"forecast", "train", "--model", kind,
		"--prometheus", m.Prometheus.Address, "--preset", preset,
		"--namespace", baa.Namespace, "--target", baa.Spec.ScaleTargetRef.Name,
		"--start", from.UTC().Format(time.RFC3339), "--end", to.UTC().Format(time.RFC3339), "--step", interval.String(),
		"--split", "0.75,0.25,0", "--horizon", strconv.Itoa(int((startup+interval-1)/interval) + 1), "--seed", strconv.FormatInt(seed, 10),
		"--registry", regDir, "--alias", registry.Challenger}
	if m.Selector != "" {
		args = append(args, "--selector", m.Selector)
	}
	return args
}

// startJob creates the training Job for the schedule's training window at t.
func (r *Reconciler) startJob(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, s series.Series, t time.Time, trigger retrain.Trigger) {
	life := l.life
	iv := l.cfg.interval
	from, to, ok := life.sched.Windows(s.Len(), iv, life.serving.f.MinHistory()+8)
	if !ok {
		r.judged(ctx, baa, l, nil, retrain.Event{At: t, Trigger: trigger, Skipped: fmt.Sprintf("only %d completed intervals: too few to train and evaluate", s.Len())}, nil, nil, s)
		return
	}
	if baa.Spec.Metrics.Preset == v1alpha1.PresetCustom || l.cfg.cpuFromAPI {
		r.judged(ctx, baa, l, nil, retrain.Event{At: t, Trigger: trigger, Skipped: "a training Job reads a preset's rate from Prometheus; custom queries and the metrics API cannot be read by it"}, nil, nil, s)
		return
	}
	mount, rel, err := r.jobPath(life.job, life.registry)
	if err != nil {
		r.judged(ctx, baa, l, nil, retrain.Event{At: t, Trigger: trigger, Skipped: err.Error()}, nil, nil, s)
		return
	}
	args := TrainingJobArgs(baa, life.serving.kind, filepath.Join(mount, rel), s.Time(from), s.Time(to), iv, l.cfg.startup, life.env.Seed+int64(life.lastRound))
	name := fmt.Sprintf("%s-train-%d", trimName(baa.Name, 40), t.Unix())
	job, err := r.createJob(ctx, baa, life.job, name, jobForecaster, args)
	if err != nil {
		r.judged(ctx, baa, l, nil, retrain.Event{At: t, Trigger: trigger}, nil, err, s)
		return
	}
	life.jobName, life.jobAt, life.jobEnd, life.jobTrigger = name, t, s.Time(s.Len()), trigger
	r.Events.Eventf(baa, job, corev1.EventTypeNormal, v1alpha1.ReasonTrainingJob, "Train", "training Job %s (%s, %s): %s challenger on %s..%s",
		name, life.job.Image, trigger, life.serving.kind, s.Time(from).UTC().Format(time.RFC3339), s.Time(to).UTC().Format(time.RFC3339))
}

// Training Job roles (label TrainingRoleLabel).
const (
	jobForecaster = "forecaster"
	jobAgent      = "agent"
)

// TrainingRoleLabel says what a training Job trains: forecaster or agent.
const TrainingRoleLabel = "autoscaling.bascaler.io/trains"

// jobPath returns where a training Job mounts the model volume and the path of dir (a
// directory under the controller's --model-dir) inside it.
func (r *Reconciler) jobPath(js *v1alpha1.TrainingJobSpec, dir string) (mount, rel string, err error) {
	mount = mountOf(js)
	rel, err = filepath.Rel(r.ModelDir, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", "", fmt.Errorf("registry %s is not inside the model volume %s, which the Job mounts", dir, r.ModelDir)
	}
	return mount, rel, nil
}

// mountOf is where a training Job mounts the model volume.
func mountOf(js *v1alpha1.TrainingJobSpec) string {
	if js.MountPath == "" {
		return "/models"
	}
	return js.MountPath
}

// createJob creates the training Job name running `bascaler ARGS` with the model volume
// mounted, owned by the autoscaler (deleted with it) and kept an hour after it finishes.
func (r *Reconciler) createJob(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, js *v1alpha1.TrainingJobSpec, name, role string, args []string) (*batchv1.Job, error) {
	mount := mountOf(js)
	backoff, ttl := int32(1), int32(3600)
	labels := map[string]string{TrainingJobLabel: baa.Name, TrainingRoleLabel: role}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: baa.Namespace,
			Labels: map[string]string{TrainingJobLabel: baa.Name, TrainingRoleLabel: role, "app.kubernetes.io/managed-by": "bascaler"}},
		Spec: batchv1.JobSpec{BackoffLimit: &backoff, TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "train", Image: js.Image, Command: []string{"bascaler"}, Args: args,
						VolumeMounts: []corev1.VolumeMount{{Name: "models", MountPath: mount}}}},
					Volumes: []corev1.Volume{{Name: "models", VolumeSource: corev1.VolumeSource{
						PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: js.ClaimName}}}}}}},
	}
	if err := controllerutil.SetControllerReference(baa, job, r.Client.Scheme()); err != nil {
		return nil, fmt.Errorf("training Job owner: %w", err)
	}
	if err := r.Client.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create training Job %s: %w", name, err)
	}
	return job, nil
}

// jobOutcome is what a training Job has come to.
type jobOutcome int

const (
	jobRunning jobOutcome = iota
	jobSucceeded
	jobFailed
	jobGone // deleted before it finished
)

// jobState reads the outcome of training Job name (jobRunning also on a read error: the
// next step reads again).
func (r *Reconciler) jobState(ctx context.Context, ns, name string) jobOutcome {
	job := &batchv1.Job{}
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, job); err != nil {
		if apierrors.IsNotFound(err) {
			return jobGone
		}
		return jobRunning
	}
	done, failed := job.Status.Succeeded > 0, false
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			done = true
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			failed = true
		}
	}
	switch {
	case failed:
		return jobFailed
	case done:
		return jobSucceeded
	}
	return jobRunning
}

// pollJob checks the running training Job; when it has succeeded, the challenger it wrote is
// judged by the same replay as an in-process fit, on the windows cut at the Job's creation.
func (r *Reconciler) pollJob(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, t time.Time, i int) {
	life := l.life
	name := life.jobName
	trig := life.jobTrigger
	state := r.jobState(ctx, baa.Namespace, name)
	switch state {
	case jobRunning:
		return
	case jobGone:
		life.jobName = ""
		r.judged(ctx, baa, l, nil, retrain.Event{At: t, Trigger: trig}, nil, fmt.Errorf("training Job %s disappeared", name), series.Series{})
		return
	}
	life.jobName = ""
	// The windows the Job was cut from: intervals read late since then do not shift them.
	s := until(r.completed(baa, l, life.jobAt), life.jobEnd)
	if state == jobFailed {
		r.judged(ctx, baa, l, nil, retrain.Event{At: t, Trigger: trig}, nil, fmt.Errorf("training Job %s failed", name), s)
		return
	}
	rp, ok := l.drv.Policy().(policy.Retrainable)
	if !ok {
		return
	}
	reg, err := registry.Open(life.registry)
	var id string
	if err == nil {
		id, err = reg.Find(registry.Challenger)
	}
	var f forecast.Forecaster
	if err == nil {
		f, _, err = loadVersion(life.registry, id, l.cfg.interval)
	}
	if err != nil {
		r.judged(ctx, baa, l, nil, retrain.Event{At: t, Trigger: trig}, nil, fmt.Errorf("training Job %s succeeded, but its challenger cannot be loaded: %w", name, err), s)
		return
	}
	r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonModelTrained, "Train", "training Job %s wrote %s challenger %s", name, f.Kind(), registry.Short(id))
	ev, chall, err := sim.Evaluate(r.replayConfig(l), given{rp, jobModel{f, id}}, *life.sched, s, r.builder(l), life.env.Seed+int64(i), life.drifting)
	ev.Interval, ev.At, ev.Trigger = i, t, trig
	if chall != nil {
		chall = jobModel{f, id}
	}
	r.judged(ctx, baa, l, rp, ev, chall, err, s)
}

func trimName(s string, n int) string {
	if len(s) > n {
		return strings.TrimRight(s[:n], "-.")
	}
	return s
}
