package cluster_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

// kubectl runs the real kubectl against the cluster; stdin may be empty.
func kubectl(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"), append([]string{"--kubeconfig=" + cl.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func mustKubectl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, err := kubectl(t, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func wantAll(t *testing.T, what, out string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(out, s) {
			t.Errorf("%s: output lacks %q:\n%s", what, s, out)
		}
	}
}

func toYAML(t *testing.T, objs ...any) string {
	t.Helper()
	var b strings.Builder
	for _, o := range objs {
		y, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}

// TestKubectlWhatAUserTypes runs the commands of README and deploy/README with the real
// kubectl and checks what they print.
func TestKubectlWhatAUserTypes(t *testing.T) {
	t.Parallel()
	c := start(t)
	_, err := os.Stat(filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl"))
	requireOrSkip(t, err == nil, "kubectl test needs kubectl in $KUBEBUILDER_ASSETS: run hack/tools/build.sh")

	out := mustKubectl(t, "", "apply", "-k", filepath.Join("..", "..", "deploy"))
	t.Logf("kubectl apply -k deploy/:\n%s", out)
	wantAll(t, "apply -k", out, "customresourcedefinition.apiextensions.k8s.io/burstawareautoscalers.autoscaling.bascaler.io",
		"clusterrole.rbac.authorization.k8s.io/bascaler-controller", "deployment.apps/bascaler-controller", "namespace/bascaler-system")

	mustKubectl(t, "", "create", "namespace", "prod")
	out = mustKubectl(t, "", "apply", "-f", filepath.Join("..", "..", "deploy", "samples", "istio-shop.yaml"))
	wantAll(t, "apply -f sample", out, "burstawareautoscaler.autoscaling.bascaler.io/shop created")
	// The external metrics install and its sample HPA, validated by the API server but not
	// stored (TestPlainHPAFollowsExternalMetric registers its own APIService of that name).
	out = mustKubectl(t, "", "apply", "--dry-run=server", "-k", filepath.Join("..", "..", "hack", "external-metrics"))
	wantAll(t, "apply -k hack/external-metrics", out, "apiservice.apiregistration.k8s.io/v1beta1.external.metrics.k8s.io created (server dry run)",
		"service/bascaler-external-metrics created (server dry run)", "clusterrolebinding.rbac.authorization.k8s.io/bascaler-controller:system:auth-delegator created (server dry run)",
		"rolebinding.rbac.authorization.k8s.io/bascaler-controller-auth-reader created (server dry run)", "deployment.apps/bascaler-controller configured (server dry run)")
	out = mustKubectl(t, "", "apply", "--dry-run=server", "-f", filepath.Join("..", "..", "deploy", "samples", "hpa-external-shop.yaml"))
	wantAll(t, "apply -f hpa-external-shop.yaml", out, "horizontalpodautoscaler.autoscaling/shop created (server dry run)")

	// A workload and its autoscaler, applied as YAML.
	ns := "e2e-kubectl"
	setup(t, c, ns, 1, 10)
	gauges.set(ns, "shop", 50, 5)
	d := &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: podTemplate("shop", ns)}}
	baa := autoscaler(ns, "shop", "Deployment", "static:2", 10)
	baa.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "BurstAwareAutoscaler"}
	out = mustKubectl(t, toYAML(t, d, baa), "apply", "-f", "-")
	wantAll(t, "apply -f -", out, "deployment.apps/shop created", "burstawareautoscaler.autoscaling.bascaler.io/shop created")
	eventually(t, 60*time.Second, "a SuccessfulRescale event", func() (bool, string) {
		return len(eventsFor(t, c, ns, "shop", v1alpha1.ReasonSuccessfulRescale)) > 0 && getBAA(t, c, ns, "shop").Status.ReadyReplicas == 2, "no event yet"
	})

	out = mustKubectl(t, "", "get", "baa", "-n", ns)
	t.Logf("kubectl get baa:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := strings.Fields(lines[0]); strings.Join(got, " ") != "NAME TARGET MIN MAX CURRENT DESIRED MODE BURST FORECAST AGE" {
		t.Errorf("get baa columns %v", got)
	}
	if len(lines) != 2 || !strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "shop shop 1 10 2 2 Auto normal") {
		t.Errorf("get baa row: %q", lines[1:])
	}

	out = mustKubectl(t, "", "describe", "baa", "shop", "-n", ns)
	t.Logf("kubectl describe baa:\n%s", out)
	wantAll(t, "describe", out, "Conditions:", v1alpha1.ConditionPodsSchedulable, v1alpha1.ConditionScalingActive,
		"Events:", v1alpha1.ReasonSuccessfulRescale, "New size: 2")

	out = mustKubectl(t, "", "explain", "burstawareautoscaler.spec")
	t.Logf("kubectl explain burstawareautoscaler.spec:\n%s", out)
	wantAll(t, "explain", out, "scaleTargetRef", "maxReplicas", "slo", "FIELDS:")

	bad := autoscaler(ns, "bad", "Deployment", "static:2", 2)
	bad.TypeMeta = baa.TypeMeta
	bad.Spec.MinReplicas = ptr.To[int32](5)
	out, err = kubectl(t, toYAML(t, bad), "apply", "-f", "-")
	t.Logf("kubectl apply of an invalid object:\n%s", out)
	if err == nil {
		t.Fatalf("invalid object accepted:\n%s", out)
	}
	wantAll(t, "invalid apply", out, "minReplicas must be less than or equal to maxReplicas")
}
