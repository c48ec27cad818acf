// Package deploy holds the deploy scripts and guides; its tests keep
// template.yaml, cloudbuild.yaml and the buildpack layout valid in plain
// `go test`, offline.
package deploy

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/cloudbuild/apiv1/v2/cloudbuildpb"
	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"
)

const root = ".."

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goVersion is go.mod's go line, major and minor.
func goVersion(t *testing.T) (major, minor int) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindSubmatch(read(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	major, _ = strconv.Atoi(string(m[1]))
	minor, _ = strconv.Atoi(string(m[2]))
	return major, minor
}

func samFunction(t *testing.T, params map[string]any) *serverless.Function {
	t.Helper()
	tmpl, err := goformation.ParseYAMLWithOptions(read(t, "template.yaml"), &intrinsics.ProcessorOptions{ParameterOverrides: params, EvaluateConditions: true})
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	fn, err := tmpl.GetServerlessFunctionWithName("GatewayFunction")
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

func TestSAMTemplate(t *testing.T) {
	const svc, groq = "gw/service-api-key", "gw/groq-api-key"
	fn := samFunction(t, map[string]any{"GroqApiKeySecretName": groq, "ServiceApiKeySecretName": svc})

	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	checks := []struct {
		what, got, want string
	}{
		{"Runtime", str(fn.Runtime), "provided.al2023"},
		{"Handler", str(fn.Handler), "bootstrap"},
		{"Architectures", strings.Join(fn.Architectures, ","), "arm64"},
		{"CodeUri", str(fn.CodeUri.String), "cmd/lambda/"},
		{"BuildMethod", fmtAny(fn.AWSCloudFormationMetadata["BuildMethod"]), "go1.x"},
		{"FunctionUrl AuthType", fn.FunctionUrlConfig.AuthType, "NONE"},
		{"FunctionUrl InvokeMode", str(fn.FunctionUrlConfig.InvokeMode), "RESPONSE_STREAM"},
		// The bootstrap streams only if told, and must agree with the URL.
		{"LAMBDA_INVOKE_MODE", fmtAny(fn.Environment.Variables["LAMBDA_INVOKE_MODE"]), str(fn.FunctionUrlConfig.InvokeMode)},
		{"SERVICE_API_KEY", fmtAny(fn.Environment.Variables["SERVICE_API_KEY"]), "awssm://" + svc},
		{"GROQ_API_KEY", fmtAny(fn.Environment.Variables["GROQ_API_KEY"]), "awssm://" + groq},
		{"GEMINI_API_KEY (unset parameter)", fmtAny(fn.Environment.Variables["GEMINI_API_KEY"]), ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if fn.Timeout == nil || *fn.Timeout < 30 || *fn.Timeout > 900 {
		t.Errorf("Timeout = %v, want 30..900 s", fn.Timeout)
	}
	if fn.MemorySize == nil || *fn.MemorySize < 256 || *fn.MemorySize > 2048 {
		t.Errorf("MemorySize = %v, want 256..2048 MB", fn.MemorySize)
	}
	hasHTTPAPI := false
	for _, ev := range fn.Events {
		hasHTTPAPI = hasHTTPAPI || ev.Type == "HttpApi"
	}
	if !hasHTTPAPI {
		t.Error("no HttpApi event")
	}

	// Secrets Manager read access: exactly the configured secrets. Their ARNs
	// end in "-" and six random characters, hence the "-??????".
	var granted []string
	if fn.Policies == nil || fn.Policies.SAMPolicyTemplateArray == nil {
		t.Fatal("no SAM policy templates")
	}
	for _, p := range *fn.Policies.SAMPolicyTemplateArray {
		if p.AWSSecretsManagerGetSecretValuePolicy != nil {
			granted = append(granted, p.AWSSecretsManagerGetSecretValuePolicy.SecretArn)
		}
	}
	slices.Sort(granted)
	arn := regexp.MustCompile(`^arn:[^:]*:secretsmanager:[^:]*:[^:]*:secret:(.+)-\?{6}$`)
	var names []string
	for _, g := range granted {
		if m := arn.FindStringSubmatch(g); m != nil {
			names = append(names, m[1])
		} else {
			t.Errorf("grant on %q: want one secret's ARN pattern", g)
		}
	}
	if want := []string{groq, svc}; !slices.Equal(names, want) {
		t.Errorf("secret read granted on %v, want exactly %v", names, want)
	}
	// goformation's union decoding leaves "" placeholders for template
	// entries; a real managed policy name would show here.
	if fn.Policies.String != nil {
		t.Errorf("managed policy %q attached; want only the scoped templates", *fn.Policies.String)
	}
	if fn.Policies.StringArray != nil {
		for _, s := range *fn.Policies.StringArray {
			if s != "" {
				t.Errorf("managed policy %q attached; want only the scoped templates", s)
			}
		}
	}
}

func fmtAny(v any) string {
	s, _ := v.(string)
	return s
}

// goformation evaluates intrinsics; the raw YAML shows what a reader sees:
// every secret parameter is granted and used, and nothing grants "*".
func TestSAMTemplateRaw(t *testing.T) {
	var doc struct {
		Parameters map[string]map[string]any `yaml:"Parameters"`
	}
	raw := read(t, "template.yaml")
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for name := range doc.Parameters {
		if !strings.HasSuffix(name, "SecretName") {
			continue
		}
		n++
		if c := strings.Count(string(raw), ":secret:${"+name+"}-??????'"); c != 1 {
			t.Errorf("parameter %s granted %d times, want once", name, c)
		}
		if !strings.Contains(string(raw), "'awssm://${"+name+"}'") {
			t.Errorf("parameter %s never reaches the environment as awssm://", name)
		}
	}
	if n < 2 {
		t.Errorf("%d secret parameters, want one per key", n)
	}
	if regexp.MustCompile(`(?m)Resource:\s*['"]?\*`).Match(raw) {
		t.Error(`template grants Resource "*"`)
	}
}

// SAM runs `go build -o bootstrap <CodeUri>`; a library there exits 0 and
// writes an ar archive. CodeUri must hold package main.
func TestCodeUriIsMain(t *testing.T) {
	fn := samFunction(t, nil)
	//lint:ignore SA1019 build tags are irrelevant to a package clause check
	pkgs, err := parser.ParseDir(token.NewFileSet(), filepath.Join(root, *fn.CodeUri.String), nil, parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pkgs["main"]; !ok || len(pkgs) != 1 {
		t.Fatalf("CodeUri packages %v, want only main", keys(pkgs))
	}
}

// Google's buildpack parses the root with go/parser.ParseDir, tests
// included; a second package name there ("gateway_test") fails the deploy.
func TestRootHasOnePackage(t *testing.T) {
	//lint:ignore SA1019 the buildpack itself uses ParseDir; this reproduces its view
	pkgs, err := parser.ParseDir(token.NewFileSet(), root, nil, parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 || pkgs["main"] != nil {
		t.Fatalf("root packages %v, want exactly one non-main package", keys(pkgs))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func loadBuild(t *testing.T) (*cloudbuildpb.Build, []byte) {
	t.Helper()
	raw := read(t, "cloudbuild.yaml")
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var b cloudbuildpb.Build
	// Unknown or misspelled fields, "20m" durations and unquoted numbers
	// fail here as Cloud Build would refuse them.
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatalf("cloudbuild.yaml is not a valid Build: %v", err)
	}
	return &b, raw
}

func TestCloudBuild(t *testing.T) {
	b, raw := loadBuild(t)
	major, minor := goVersion(t)

	var deploy *cloudbuildpb.BuildStep
	ran := map[string]bool{}
	for _, s := range b.Steps {
		if strings.HasPrefix(s.Name, "golang:") {
			// The image pins GOTOOLCHAIN=local: older than go.mod cannot build.
			v := strings.Split(strings.TrimPrefix(s.Name, "golang:"), ".")
			ma, _ := strconv.Atoi(v[0])
			mi, _ := strconv.Atoi(strings.Split(v[1], "-")[0])
			if ma < major || ma == major && mi < minor {
				t.Errorf("step %s: image %s older than go.mod's go %d.%d", s.Id, s.Name, major, minor)
			}
			if len(s.Args) > 0 {
				ran[s.Args[0]] = true
			}
		}
		if s.Entrypoint == "gcloud" && slices.Contains(s.Args, "deploy") {
			deploy = s
		}
	}
	if !ran["vet"] || !ran["test"] {
		t.Errorf("go steps ran %v, want vet and test", ran)
	}
	if deploy == nil {
		t.Fatal("no gcloud functions deploy step")
	}
	if !slices.Contains(deploy.WaitFor, "test") {
		t.Errorf("deploy waits for %v, want the test step", deploy.WaitFor)
	}
	args := strings.Join(deploy.Args, " ")
	for _, want := range []string{
		"functions deploy", "--gen2", "--trigger-http", "--source=.",
		"--runtime=go" + strconv.Itoa(major) + strconv.Itoa(minor),
		"--entry-point=" + entryPoint(t),
		"--region=${_REGION}", "--project=${_PROJECT}", "${_NAME}",
		"--service-account=${_SERVICE_ACCOUNT}@", "--set-secrets=",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("deploy args lack %q:\n%s", want, args)
		}
	}
	// Cloud Build rejects undefined substitutions and bad names.
	used := regexp.MustCompile(`\$\{(_[A-Z0-9_]+)\}`).FindAllStringSubmatch(string(raw), -1)
	for _, m := range used {
		if _, ok := b.Substitutions[m[1]]; !ok {
			t.Errorf("substitution %s used but not defined", m[1])
		}
	}
	for k := range b.Substitutions {
		if !regexp.MustCompile(`^_[A-Z0-9_]+$`).MatchString(k) {
			t.Errorf("substitution %q: user names must be _UPPER", k)
		}
		if !strings.Contains(string(raw), "${"+k+"}") {
			t.Errorf("substitution %s defined but unused", k)
		}
	}
	for _, k := range []string{"_REGION", "_NAME", "_PROJECT"} {
		if _, ok := b.Substitutions[k]; !ok {
			t.Errorf("no %s substitution", k)
		}
	}
}

// The checker must itself catch the mistakes it exists for.
func TestCloudBuildCheckerRejects(t *testing.T) {
	for _, bad := range []string{
		"steps:\n- name: golang:1.26\n  waitfor: [x]\n",
		"steps:\n- name: golang:1.26\ntimeout: 20m\n",
		"steps:\n- name: golang:1.26\nsubstitutions:\n  _PORT: 8080\n",
	} {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(bad), &doc); err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(doc)
		if err := protojson.Unmarshal(js, &cloudbuildpb.Build{}); err == nil {
			t.Errorf("accepted invalid build:\n%s", bad)
		}
	}
}

// entryPoint reads the EntryPoint constant from function.go without
// importing the root package (whose init loads configuration).
func entryPoint(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`const EntryPoint = "([A-Za-z0-9_]+)"`).FindSubmatch(read(t, "function.go"))
	if m == nil {
		t.Fatal("function.go declares no EntryPoint")
	}
	if !strings.Contains(string(read(t, "function.go")), "functions.HTTP(EntryPoint,") {
		t.Fatal("function.go does not register EntryPoint")
	}
	return string(m[1])
}

// The one-command scripts must parse and agree with the CI deploy.
func TestScripts(t *testing.T) {
	major, minor := goVersion(t)
	tests := []struct {
		script string
		want   []string
	}{
		{"deploy/gcp.sh", []string{"--gen2", "--runtime=go" + strconv.Itoa(major) + strconv.Itoa(minor),
			"--entry-point=" + entryPoint(t), "--trigger-http", "roles/secretmanager.secretAccessor", "--data-file=-"}},
		{"deploy/aws.sh", []string{"CGO_ENABLED=0", "-tags=lambda.norpc", "sam build", "sam deploy",
			"file:///dev/stdin", "ServiceApiKeySecretName"}},
	}
	for _, tt := range tests {
		raw := string(read(t, tt.script))
		for _, w := range tt.want {
			if !strings.Contains(raw, w) {
				t.Errorf("%s lacks %q", tt.script, w)
			}
		}
		if st, err := os.Stat(filepath.Join(root, tt.script)); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", tt.script)
		}
		if bash, err := exec.LookPath("bash"); err == nil {
			if out, err := exec.Command(bash, "-n", filepath.Join(root, tt.script)).CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s", tt.script, err, out)
			}
		}
	}
}
