// features-harness: runs temporalio/features scenarios, rewritten with the official Go SDK client,
// against a worker given on the command line, and prints one line per feature:
//
//	PASS activity/basic_no_workflow_timeout 0.8s
//	FAIL signal/basic 1.2s: run result: want "arg", got ""
//	SKIP update/basic: not required yet (issue 11): the worker does not implement it
//
// The exit code is non-zero when a required feature fails (with --expect-fail: when a selected
// feature passes, which is how the harness checks that its checks can fail).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// Config is the command line.
type Config struct {
	Worker         string
	WorkerArgs     []string
	Address        string
	Namespace      string
	LogDir         string
	StopTimeout    time.Duration
	FeatureTimeout time.Duration
	Select         []string
	AllRequired    bool
	ExpectFail     bool
	DevServerCLI   string
	Verbose        bool
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	cfg := &Config{}
	var workerArgs, selects multiFlag
	var list bool
	flag.StringVar(&cfg.Worker, "worker", "", "worker executable (features-worker or goworker)")
	flag.Var(&workerArgs, "worker-arg", "extra argument for the worker (repeatable)")
	flag.StringVar(&cfg.Address, "address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "server HOST:PORT")
	flag.StringVar(&cfg.Namespace, "namespace", envOr("TEMPORAL_NAMESPACE", "default"), "namespace")
	flag.StringVar(&cfg.LogDir, "log-dir", os.TempDir(), "directory for worker logs and saved histories")
	flag.DurationVar(&cfg.StopTimeout, "stop-timeout", 30*time.Second, "how long a worker may take to exit after SIGTERM")
	flag.DurationVar(&cfg.FeatureTimeout, "feature-timeout", 3*time.Minute, "limit for one feature")
	flag.Var(&selects, "feature", "feature or group prefix to run (repeatable; default all)")
	flag.BoolVar(&cfg.AllRequired, "all-required", false, "every selected feature is required (reference worker self-check)")
	flag.BoolVar(&cfg.ExpectFail, "expect-fail", false, "succeed only if every selected feature fails (broken worker self-check)")
	flag.StringVar(&cfg.DevServerCLI, "dev-server-cli", "", "temporal CLI for features that need servers of their own")
	flag.BoolVar(&cfg.Verbose, "v", false, "log SDK client messages to stderr")
	flag.BoolVar(&list, "list", false, "list the features and exit")
	flag.Parse()
	cfg.WorkerArgs, cfg.Select = workerArgs, selects

	if list {
		for _, f := range sortedFeatures() {
			fmt.Printf("%s issue=%d source=%s\n", f.Name, f.Issue, f.Source)
		}
		return
	}
	if cfg.Worker == "" {
		fmt.Fprintln(os.Stderr, "features-harness: --worker is required")
		os.Exit(2)
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "features-harness:", err)
		os.Exit(2)
	}
	os.Exit(run(cfg))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func selected(cfg *Config, name string) bool {
	if len(cfg.Select) == 0 {
		return true
	}
	for _, s := range cfg.Select {
		if name == s || strings.HasPrefix(name, strings.TrimSuffix(s, "/")+"/") {
			return true
		}
	}
	return false
}

func dial(ctx context.Context, cfg *Config, address string) (client.Client, error) {
	opts := client.Options{HostPort: address, Namespace: cfg.Namespace, Logger: quietLogger(cfg)}
	var last error
	for i := 0; i < 300; i++ {
		c, err := client.Dial(opts)
		if err == nil {
			_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: cfg.Namespace})
			if err == nil {
				return c, nil
			}
			c.Close()
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("server %s namespace %s not ready: %w", address, cfg.Namespace, last)
}

// nopLogger drops the SDK client's messages (the per-feature lines are the output).
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

func quietLogger(cfg *Config) sdklog.Logger {
	if cfg.Verbose {
		return nil
	}
	return nopLogger{}
}

// workerFeatures asks the worker which features it implements (`--list`).
func workerFeatures(cfg *Config) (map[string]bool, error) {
	args := append(append([]string{}, cfg.WorkerArgs...), "--list")
	out, err := exec.Command(cfg.Worker, args...).Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", cfg.Worker, err)
	}
	set := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			set[l] = true
		}
	}
	return set, nil
}

func run(cfg *Config) int {
	ctx := context.Background()
	impl, err := workerFeatures(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "features-harness:", err)
		return 2
	}
	c, err := dial(ctx, cfg, cfg.Address)
	if err != nil {
		fmt.Fprintln(os.Stderr, "features-harness:", err)
		return 2
	}
	defer c.Close()

	var pass, fail, skip, requiredFail, unexpectedPass int
	for _, f := range sortedFeatures() {
		if !selected(cfg, f.Name) {
			continue
		}
		required := f.Required() || cfg.AllRequired
		switch {
		case f.NotUpstream != "":
			fmt.Printf("SKIP %s: %s\n", f.Name, f.NotUpstream)
			skip++
			continue
		case !impl[f.Name] && cfg.ExpectFail:
			fmt.Printf("SKIP %s: the worker has no broken variant of it\n", f.Name)
			skip++
			continue
		case !impl[f.Name] && !required:
			fmt.Printf("SKIP %s: not required yet (issue %d): the worker does not implement it\n", f.Name, f.Issue)
			skip++
			continue
		}
		start := time.Now()
		var ferr error
		if !impl[f.Name] {
			ferr = errors.New("the worker does not implement this required feature")
		} else {
			ferr = runFeature(ctx, cfg, f, c)
		}
		secs := time.Since(start).Seconds()
		var skipped *skipError
		if errors.As(ferr, &skipped) {
			fmt.Printf("SKIP %s: %s\n", f.Name, skipped.reason)
			skip++
			continue
		}
		if ferr == nil {
			fmt.Printf("PASS %s %.1fs\n", f.Name, secs)
			pass++
			if cfg.ExpectFail {
				unexpectedPass++
			}
		} else {
			fmt.Printf("FAIL %s %.1fs: %s\n", f.Name, secs, oneLine(ferr.Error()))
			fail++
			if required {
				requiredFail++
			}
		}
	}
	fmt.Printf("features: %d passed, %d failed, %d skipped\n", pass, fail, skip)
	if cfg.ExpectFail {
		if unexpectedPass > 0 || pass+fail == 0 {
			fmt.Printf("expect-fail: %d feature(s) passed on a worker that is broken for them\n", unexpectedPass)
			return 1
		}
		return 0
	}
	if requiredFail > 0 {
		return 1
	}
	return 0
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// runFeature runs one feature against the configured server.
func runFeature(ctx context.Context, cfg *Config, f *Feature, c client.Client) error {
	if f.Run != nil {
		ctx, cancel := context.WithTimeout(ctx, cfg.FeatureTimeout)
		defer cancel()
		return f.Run(ctx, cfg, f)
	}
	return runStandard(ctx, cfg, f, c)
}

// runStandard is the upstream sequence: start the worker, Execute, CheckResult, CheckHistory,
// then stop the worker (which must exit cleanly).
func runStandard(parent context.Context, cfg *Config, f *Feature, c client.Client) (err error) {
	ctx, cancelCause := context.WithCancelCause(parent)
	defer cancelCause(nil)
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.FeatureTimeout, errors.New("feature timed out"))
	defer cancel()
	if f.ClientOptions != nil {
		opts := client.Options{HostPort: cfg.Address, Namespace: cfg.Namespace, Logger: quietLogger(cfg)}
		f.ClientOptions(&opts)
		own, derr := client.Dial(opts)
		if derr != nil {
			return derr
		}
		defer own.Close()
		c = own
	}
	r := newRunner(cfg, f, c, cancelCause)
	defer r.runCleanups()
	if f.Prepare != nil {
		if err := f.Prepare(ctx, r); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	if f.Proxy {
		p, perr := StartProxy(cfg.Address)
		if perr != nil {
			return perr
		}
		defer p.Close()
		r.Proxy, r.Address = p, p.Address()
	}
	defer func() {
		if _, serr := r.StopWorker(); serr != nil && err == nil {
			err = fmt.Errorf("worker shutdown: %w", serr)
		}
	}()
	if err := r.StartWorker(ctx); err != nil {
		return err
	}
	wrap := func(stage string, err error) error {
		if err == nil {
			return nil
		}
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			return fmt.Errorf("%s: %v (%v)", stage, err, cause)
		}
		return fmt.Errorf("%s: %w", stage, err)
	}
	var run client.WorkflowRun
	if f.Execute != nil {
		run, err = f.Execute(ctx, r)
	} else {
		run, err = r.ExecuteDefault(ctx)
	}
	if err != nil || run == nil {
		return wrap("execute", err)
	}
	if f.CheckResult != nil {
		err = f.CheckResult(ctx, r, run)
	} else {
		err = r.CheckResultDefault(ctx, run)
	}
	if err != nil {
		return wrap("result", err)
	}
	if f.CheckHistory != nil {
		err = f.CheckHistory(ctx, r, run)
	} else {
		err = r.CheckHistoryDefault(ctx, run)
	}
	return wrap("history", err)
}
