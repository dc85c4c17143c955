// Private dev servers for features whose upstream run variants need server settings of their own
// (the upstream runner starts an embedded dev server with the variant's dynamic config).
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
)

// DevServer is a `temporal server start-dev` child process on free loopback ports.
type DevServer struct {
	Address string
	cmd     *exec.Cmd
	done    chan struct{}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartDevServer starts an in-memory dev server with the given dynamic config values
// ("key=value" as the CLI takes them) and waits until its default namespace answers.
func StartDevServer(ctx context.Context, cfg *Config, name string, dynamic []string) (*DevServer, client.Client, error) {
	if cfg.DevServerCLI == "" {
		return nil, nil, fmt.Errorf("needs a server of its own: pass --dev-server-cli")
	}
	ports := make([]int, 4)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		ports[i] = p
	}
	args := []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1",
		"--port", strconv.Itoa(ports[0]), "--http-port", strconv.Itoa(ports[1]),
		"--metrics-port", strconv.Itoa(ports[2]), "--ui-port", strconv.Itoa(ports[3]),
		"--log-level", "error"}
	for _, d := range dynamic {
		args = append(args, "--dynamic-config-value", d)
	}
	logf, err := os.Create(filepath.Join(cfg.LogDir, "devserver-"+name+".log"))
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(cfg.DevServerCLI, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, nil, err
	}
	s := &DevServer{Address: fmt.Sprintf("127.0.0.1:%d", ports[0]), cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	c, err := dial(ctx, cfg, s.Address)
	if err != nil {
		s.Stop()
		return nil, nil, err
	}
	return s, c, nil
}

// Stop ends the server (SIGTERM, then SIGKILL after 10 s).
func (s *DevServer) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
