package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file holds the model lifecycle part of the API: continuous retraining, drift
// monitoring and the model's status (kept apart from types.go to ease merging).

// ModelRollbackAnnotation, set on a BurstAwareAutoscaler to a new value (any token, e.g. a
// timestamp), rolls the forecaster back to the previous champion once per value: the
// controller records the handled value in status.model.rollbackHandled. An annotation,
// not a spec field, because a spec change rebuilds the control loop.
const ModelRollbackAnnotation = "autoscaling.bascaler.io/model-rollback"

// Training runners.
const (
	// RunnerInProcess refits the challenger inside the controller (classic models).
	RunnerInProcess = "InProcess"
	// RunnerJob trains the challenger in a Kubernetes Job (same image, `bascaler forecast
	// train ... --registry`), writing to the registry volume; the controller then judges it.
	RunnerJob = "Job"
)

// TrainingSpec configures continuous retraining of the policy's forecaster (policies that
// support it: bascaler). A challenger is trained on the TrainingWindow of completed
// intervals that precedes the EvaluationWindow, then the champion and the challenger are
// replayed over the EvaluationWindow (data neither trained on) through the simulator with
// the workload's capacity profile and the same driver; the challenger serves only if it
// has no more SLO-violating intervals and, on a tie, no more pod-hours.
//
// +kubebuilder:validation:XValidation:rule="!has(self.every) || duration(self.every) == duration('0s') || duration(self.every) >= duration('1s')",message="training.every must be 0s (no schedule) or at least 1s"
// +kubebuilder:validation:XValidation:rule="(has(self.every) && duration(self.every) > duration('0s')) || !has(self.onDrift) || self.onDrift",message="training with every 0s needs onDrift: nothing would ever retrain"
// +kubebuilder:validation:XValidation:rule="!has(self.runner) || self.runner != 'Job' || has(self.job)",message="runner Job needs job (image and the registry volume's claim)"
// +kubebuilder:validation:XValidation:rule="!has(self.agent) || has(self.job)",message="training.agent trains in a Job: set job (image and the registry volume's claim)"
type TrainingSpec struct {
	// Every is the time between scheduled retrains; 0s disables the schedule (onDrift only).
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +optional
	Every *metav1.Duration `json:"every,omitempty"`
	// TrainingWindow is how much completed history the challenger is fitted on (the stretch
	// before the evaluation window).
	// +kubebuilder:default="336h"
	// +kubebuilder:validation:Type=string
	// +optional
	TrainingWindow *metav1.Duration `json:"trainingWindow,omitempty"`
	// EvaluationWindow is the most recent stretch champion and challenger are replayed on.
	// +kubebuilder:default="24h"
	// +kubebuilder:validation:Type=string
	// +optional
	EvaluationWindow *metav1.Duration `json:"evaluationWindow,omitempty"`
	// OnDrift also retrains when the ModelDrifting condition becomes true, at most once per
	// DriftCooldown.
	// +kubebuilder:default=true
	// +optional
	OnDrift *bool `json:"onDrift,omitempty"`
	// DriftCooldown is the least time between two drift-triggered retrains; default the
	// evaluation window.
	// +kubebuilder:validation:Type=string
	// +optional
	DriftCooldown *metav1.Duration `json:"driftCooldown,omitempty"`
	// Runner is InProcess (the default for classic forecasters) or Job (the default for
	// neural ones: mlp, gru, lstm, informer).
	// +kubebuilder:validation:Enum=InProcess;Job
	// +optional
	Runner string `json:"runner,omitempty"`
	// Registry is a model registry directory (relative to the controller's --model-dir)
	// where every challenger is written as a version with lineage; a promoted one becomes its
	// champion. Default: the registry of spec.policy.forecaster.path when that is a
	// registry reference (DIR@champion); otherwise no versions are written.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Registry string `json:"registry,omitempty"`
	// Job configures the training Job of runner Job and of the agent.
	// +optional
	Job *TrainingJobSpec `json:"job,omitempty"`
	// Agent also retrains the PPO corrector at every retrain round, always in a Job (`bascaler
	// train rl` on the training window, in a simulator with the workload's capacity profile).
	// The challenger agent is judged by the forecaster's replay (the evaluation window, the
	// serving forecaster, the same driver) against the serving agent, or against no correction
	// when none serves, and serves only if it is better by the same rule.
	// +optional
	Agent *AgentTrainingSpec `json:"agent,omitempty"`
}

// AgentTrainingSpec configures the retraining of the PPO corrector.
type AgentTrainingSpec struct {
	// Registry is the model registry directory (relative to the controller's --model-dir)
	// the Job writes each agent to (alias challenger); a promoted one becomes its champion.
	// Default: the registry of spec.policy.rlModel.path when that is a registry reference
	// (DIR@champion). Keep agents apart from forecasters: a registry has one champion.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Registry string `json:"registry,omitempty"`
	// Steps is the training budget in corrected decisions (`train rl --steps`).
	// +kubebuilder:validation:Minimum=64
	// +kubebuilder:validation:Maximum=100000000
	// +kubebuilder:default=150000
	// +optional
	Steps int32 `json:"steps,omitempty"`
}

// AgentStatus is the serving PPO corrector and its retraining.
type AgentStatus struct {
	// Version is the serving agent's registry version (short), "none" when the policy runs
	// uncorrected, or the rlModel path it was loaded from.
	// +optional
	Version string `json:"version,omitempty"`
	// TrainingJob is the running agent training Job, if any.
	// +optional
	TrainingJob string `json:"trainingJob,omitempty"`
	// Retrains and Promotions count agents judged and promoted since the loop started.
	// +optional
	Retrains int32 `json:"retrains,omitempty"`
	// +optional
	Promotions int32 `json:"promotions,omitempty"`
	// LastEvaluation is the last agent's replay against the serving one.
	// +optional
	LastEvaluation *Evaluation `json:"lastEvaluation,omitempty"`
}

// TrainingJobSpec says how a training Job runs: the bascaler image and the volume that
// holds the registry (the controller's model volume).
type TrainingJobSpec struct {
	// Image is the bascaler image (the controller's own).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	Image string `json:"image"`
	// ClaimName is the PersistentVolumeClaim of the model volume, mounted at MountPath.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	ClaimName string `json:"claimName"`
	// MountPath is where the Job mounts the volume (the controller's --model-dir).
	// +kubebuilder:default="/models"
	// +kubebuilder:validation:MaxLength=512
	// +optional
	MountPath string `json:"mountPath,omitempty"`
}

// DriftSpec tunes drift monitoring. Every completed interval the forecast issued for it is
// scored (coverage of the 80% band, pinball loss, error relative to the naive forecast) and
// the recent inputs are compared with the model's training inputs (population stability
// index over the training data's deciles). ModelDrifting is true while a full window
// crosses a threshold.
type DriftSpec struct {
	// Window is the rolling window of the forecast scores, in intervals.
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=100000
	// +kubebuilder:default=60
	// +optional
	Window int32 `json:"window,omitempty"`
	// PSIWindow is the number of recent intervals compared with the training inputs; it
	// should cover a whole seasonal cycle (a day), or the time of day alone differs.
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=100000
	// +kubebuilder:default=1440
	// +optional
	PSIWindow int32 `json:"psiWindow,omitempty"`
	// CoverageBelow: drifting when the 80% band's rolling coverage falls below it.
	// +kubebuilder:validation:Pattern=`^0?[.][0-9]+$`
	// +kubebuilder:default="0.5"
	// +optional
	CoverageBelow string `json:"coverageBelow,omitempty"`
	// RelativeErrorAbove: drifting when the median's rolling absolute error exceeds this
	// multiple of the naive forecast's.
	// +kubebuilder:validation:Pattern=`^[0-9]+([.][0-9]+)?$`
	// +kubebuilder:default="2"
	// +optional
	RelativeErrorAbove string `json:"relativeErrorAbove,omitempty"`
	// PSIAbove: drifting when the population stability index exceeds it.
	// +kubebuilder:validation:Pattern=`^[0-9]+([.][0-9]+)?$`
	// +kubebuilder:default="0.25"
	// +optional
	PSIAbove string `json:"psiAbove,omitempty"`
	// Season is the period the seasonal score compares the workload with (|y_t - y_{t-season}|
	// against the training data's): a day by default, a week for weekly workloads; 0s turns
	// the seasonal score off. Rounded to whole control intervals (at least 2).
	// +optional
	Season *metav1.Duration `json:"season,omitempty"`
	// SeasonalWindow is the window, in intervals, of the seasonal score's median.
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=100000
	// +kubebuilder:default=120
	// +optional
	SeasonalWindow int32 `json:"seasonalWindow,omitempty"`
	// SeasonalAbove: drifting when the recent seasonal error exceeds this multiple of the
	// training data's.
	// +kubebuilder:validation:Pattern=`^[0-9]+([.][0-9]+)?$`
	// +kubebuilder:default="3"
	// +optional
	SeasonalAbove string `json:"seasonalAbove,omitempty"`
}

// ModelStatus is the serving forecaster and its lifecycle.
type ModelStatus struct {
	// Version is the serving model: a registry version id (short) or "in-process:<n>" for
	// the n-th model fitted inside the controller since the loop started.
	// +optional
	Version string `json:"version,omitempty"`
	// Kind is the forecaster kind.
	// +optional
	Kind string `json:"kind,omitempty"`
	// ServingSince is when the version started serving; Age is the time since, rounded to
	// the control interval.
	// +optional
	ServingSince *metav1.Time `json:"servingSince,omitempty"`
	// +optional
	Age string `json:"age,omitempty"`
	// TrainingWindow is the data the serving model was fitted on.
	// +optional
	TrainingWindow *TimeWindow `json:"trainingWindow,omitempty"`
	// Scores are the serving model's live drift scores.
	// +optional
	Scores *DriftScores `json:"scores,omitempty"`
	// LastEvaluation is the last retrain's replay of both models.
	// +optional
	LastEvaluation *Evaluation `json:"lastEvaluation,omitempty"`
	// NextTraining is when the next scheduled retrain is due.
	// +optional
	NextTraining *metav1.Time `json:"nextTraining,omitempty"`
	// Retrains and Promotions count retrains judged and challengers promoted since the loop
	// started.
	// +optional
	Retrains int32 `json:"retrains,omitempty"`
	// +optional
	Promotions int32 `json:"promotions,omitempty"`
	// TrainingJob is the running training Job (runner Job), if any.
	// +optional
	TrainingJob string `json:"trainingJob,omitempty"`
	// RollbackHandled is the last model-rollback annotation value acted on.
	// +optional
	RollbackHandled string `json:"rollbackHandled,omitempty"`
	// Agent is the PPO corrector's lifecycle (spec.policy.training.agent).
	// +optional
	Agent *AgentStatus `json:"agent,omitempty"`
}

// TimeWindow is a half-open stretch of intervals [from, to).
type TimeWindow struct {
	From metav1.Time `json:"from"`
	To   metav1.Time `json:"to"`
}

// DriftScores are the drift scores of the last completed interval, as decimal strings
// (empty while a window is not full).
type DriftScores struct {
	// Coverage of the 80% band over the rolling window.
	// +optional
	Coverage string `json:"coverage,omitempty"`
	// PinballLoss is the mean pinball loss over the rolling window, req/s.
	// +optional
	PinballLoss string `json:"pinballLoss,omitempty"`
	// RelativeError is the median's absolute error over the naive forecast's.
	// +optional
	RelativeError string `json:"relativeError,omitempty"`
	// PSI is the input distribution's population stability index against training.
	// +optional
	PSI string `json:"psi,omitempty"`
	// Drifting says the model is found drifting; Reason says why.
	// +optional
	Drifting bool `json:"drifting,omitempty"`
	// +optional
	Reason string `json:"reason,omitempty"`
}

// Evaluation is one retrain's replay: both models' numbers and the verdict.
type Evaluation struct {
	// Time of the retrain and its Trigger (schedule, drift, manual).
	Time    metav1.Time `json:"time"`
	Trigger string      `json:"trigger,omitempty"`
	// TrainingWindow and EvaluationWindow bound the data.
	// +optional
	TrainingWindow *TimeWindow `json:"trainingWindow,omitempty"`
	// +optional
	EvaluationWindow *TimeWindow `json:"evaluationWindow,omitempty"`
	// Champion and Challenger are the replay scores.
	// +optional
	Champion *ReplayScore `json:"champion,omitempty"`
	// +optional
	Challenger *ReplayScore `json:"challenger,omitempty"`
	// Promoted says the challenger now serves; Message says why in words.
	Promoted bool   `json:"promoted"`
	Message  string `json:"message,omitempty"`
	// ChallengerVersion is the challenger's registry version (short), when written.
	// +optional
	ChallengerVersion string `json:"challengerVersion,omitempty"`
}

// ReplayScore is one model's replay over the evaluation window.
type ReplayScore struct {
	// ViolatingIntervals counts the SLO-violating intervals; PodHours the cost (decimal).
	ViolatingIntervals int32  `json:"violatingIntervals"`
	PodHours           string `json:"podHours"`
}

// Model lifecycle condition types.
const (
	// ConditionModelReady is True while a forecaster serves (False when the policy has none
	// or the last load or retrain failed).
	ConditionModelReady = "ModelReady"
	// ConditionModelDrifting is True while the drift scores cross their thresholds.
	ConditionModelDrifting = "ModelDrifting"
)

// Model lifecycle reasons (condition and event reasons).
const (
	ReasonModelServing    = "ModelServing"
	ReasonModelTrained    = "ModelTrained"
	ReasonModelPromoted   = "ModelPromoted"
	ReasonModelRejected   = "ModelRejected"
	ReasonModelRolledBack = "ModelRolledBack"
	ReasonModelDrifting   = "ModelDrifting"
	ReasonModelFits       = "ModelFits"
	ReasonTrainingFailed  = "TrainingFailed"
	ReasonTrainingJob     = "TrainingJobCreated"
	ReasonNoForecaster    = "NoForecaster"
)
