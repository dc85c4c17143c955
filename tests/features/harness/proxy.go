// A transparent gRPC proxy between a feature's worker and the server. It lets a feature do to any
// worker, whatever its language, what the upstream Go features do with a client interceptor:
// hold a worker's polls, or hold a workflow task completion while the harness acts.
package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// rawFrame carries one serialized message through the proxy untouched.
type rawFrame struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	f, ok := v.(*rawFrame)
	if !ok {
		return nil, fmt.Errorf("proxy codec: unexpected %T", v)
	}
	return f.b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	f, ok := v.(*rawFrame)
	if !ok {
		return fmt.Errorf("proxy codec: unexpected %T", v)
	}
	f.b = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// ProxyCall is one unary call seen by the proxy. Before runs before the request is forwarded (it
// may block, or return an error the worker receives instead of a reply); After runs once the
// upstream answered.
type ProxyHooks struct {
	Before func(ctx context.Context, method string, req []byte) error
	After  func(method string, req []byte, resp []byte, err error)
	// Detach says which calls are forwarded even if the worker gives up on them (it stopped):
	// the call then completes on the server as a late response from that worker would.
	Detach func(method string) bool
}

// Proxy forwards every WorkflowService call from the worker to the real server.
type Proxy struct {
	lis      net.Listener
	srv      *grpc.Server
	upstream *grpc.ClientConn
	mu       sync.Mutex
	hooks    ProxyHooks
	wg       sync.WaitGroup
}

// StartProxy listens on a free loopback port and forwards to target.
func StartProxy(target string) (*Proxy, error) {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(128<<20), grpc.MaxCallSendMsgSize(128<<20)))
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		conn.Close()
		return nil, err
	}
	p := &Proxy{lis: lis, upstream: conn}
	p.srv = grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(p.handle),
		grpc.MaxRecvMsgSize(128<<20), grpc.MaxSendMsgSize(128<<20))
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_ = p.srv.Serve(lis)
	}()
	return p, nil
}

// Address is the HOST:PORT the worker should dial.
func (p *Proxy) Address() string { return p.lis.Addr().String() }

// SetHooks replaces the hooks (nil fields: forward untouched).
func (p *Proxy) SetHooks(h ProxyHooks) {
	p.mu.Lock()
	p.hooks = h
	p.mu.Unlock()
}

func (p *Proxy) currentHooks() ProxyHooks {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hooks
}

// Close stops accepting calls, cancels those in flight and closes the upstream connection.
func (p *Proxy) Close() {
	p.srv.Stop()
	p.wg.Wait()
	p.upstream.Close()
}

func (p *Proxy) handle(_ any, stream grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(stream)
	if !ok {
		return status.Error(13, "proxy: no method")
	}
	ctx := stream.Context()
	var req rawFrame
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	hooks := p.currentHooks()
	if hooks.Before != nil {
		if err := hooks.Before(ctx, method, req.b); err != nil {
			return err
		}
	}
	out := metadata.MD{}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		for k, v := range md {
			if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "grpc-") || k == "content-type" ||
				k == "user-agent" || k == "te" {
				continue
			}
			out[k] = v
		}
	}
	var resp rawFrame
	var header, trailer metadata.MD
	fwd := ctx
	if hooks.Detach != nil && hooks.Detach(method) {
		var cancel context.CancelFunc
		fwd, cancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
	}
	err := p.upstream.Invoke(metadata.NewOutgoingContext(fwd, out), method, &req, &resp,
		grpc.ForceCodec(rawCodec{}), grpc.Header(&header), grpc.Trailer(&trailer))
	if hooks.After != nil {
		hooks.After(method, req.b, resp.b, err)
	}
	if header != nil {
		_ = stream.SetHeader(header)
	}
	if trailer != nil {
		stream.SetTrailer(trailer)
	}
	if err != nil {
		return err
	}
	return stream.SendMsg(&resp)
}

// Gate blocks callers of Wait while it is closed; Open releases them all.
type Gate struct {
	mu sync.Mutex
	ch chan struct{}
}

// Close makes later Wait calls block until Open.
func (g *Gate) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch == nil {
		g.ch = make(chan struct{})
	}
}

// Open releases every waiter.
func (g *Gate) Open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
}

// Wait returns once the gate is open or ctx ends.
func (g *Gate) Wait(ctx context.Context) error {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
