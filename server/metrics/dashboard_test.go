package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Grafana dashboard is valid JSON and charts only metrics swiftbox
// exports.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("grafana/swiftbox-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	m, _ := populated(t)
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range fams {
		have[f.GetName()] = true
	}
	name := regexp.MustCompile(`\b(?:swiftbox|process|go)_[a-z_]+\b`)
	exprs := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs++
			for _, n := range name.FindAllString(tg.Expr, -1) {
				base := n
				for _, suf := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(n, suf); ok && have[b] {
						base = b
					}
				}
				if !have[base] {
					t.Errorf("panel %q charts %s, which swiftbox does not export", p.Title, n)
				}
			}
		}
	}
	if exprs < 30 {
		t.Errorf("only %d queries in the dashboard", exprs)
	}
}

// The README's Prometheus scrape config is one promtool accepts.
func TestReadmeScrapeConfig(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool (Debian prometheus) not installed")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```yaml\nscrape_configs:")
	if !ok {
		t.Fatal("README has no ```yaml scrape_configs block")
	}
	block, _, _ := strings.Cut(rest, "```")
	file := filepath.Join(t.TempDir(), "prometheus.yml")
	os.WriteFile(file, []byte("scrape_configs:"+block), 0o644)
	if out, err := exec.Command(path, "check", "config", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

// Every dashboard query is valid PromQL: promtool check rules parses them
// as recording rules (Grafana's variables replaced by plain values).
func TestDashboardQueriesParse(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool (Debian prometheus) not installed")
	}
	raw, err := os.ReadFile("grafana/swiftbox-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct{ Targets []struct{ Expr string } }
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("$__rate_interval", "5m", "$instance", ".*", "$api", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, p := range dash.Panels {
		for j, tg := range p.Targets {
			q, _ := json.Marshal(vars.Replace(tg.Expr))
			fmt.Fprintf(&rules, "      - record: swiftbox:dashboard_%d_%d\n        expr: %s\n", i, j, q)
		}
	}
	file := filepath.Join(t.TempDir(), "rules.yml")
	os.WriteFile(file, []byte(rules.String()), 0o644)
	if out, err := exec.Command(path, "check", "rules", file).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
