package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	consul "github.com/hashicorp/consul/api"
)

// MetaOpsPort is the service meta key holding the operator listener's port,
// for Prometheus' consul_sd relabelling (the scrape target is the service
// address with this port).
const MetaOpsPort = "ops_port"

func (s *Service) registration(meta map[string]string) *consul.AgentServiceRegistration {
	host, portStr, _ := net.SplitHostPort(s.Addr)
	port, _ := strconv.Atoi(portStr)
	_, opsPort, _ := net.SplitHostPort(s.OpsAddr)
	meta["instance"] = s.InstanceID
	meta[MetaOpsPort] = opsPort
	timeout := s.base.ConsulCheckTimeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	deregister := s.base.ConsulDeregisterAfter
	if deregister <= 0 {
		deregister = time.Minute
	}
	return &consul.AgentServiceRegistration{
		ID: s.InstanceID, Name: s.Name, Address: host, Port: port,
		Tags: []string{"hospital", "http"},
		Meta: meta,
		Check: &consul.AgentServiceCheck{
			CheckID:                        "ready-" + s.InstanceID,
			Name:                           s.Name + " readiness",
			HTTP:                           "http://" + s.OpsAddr + "/healthz/ready",
			Interval:                       s.checkInterval().String(),
			Timeout:                        timeout.String(),
			DeregisterCriticalServiceAfter: deregister.String(),
		},
	}
}

func (s *Service) checkInterval() time.Duration {
	if s.base.ConsulCheckInterval <= 0 {
		return time.Second
	}
	return s.base.ConsulCheckInterval
}

// register retries until the agent accepts (it may start after us) or ctx
// ends. The check starts passing when our own readiness already passes, so a
// healthy instance takes traffic without waiting a check interval.
func (s *Service) register(ctx context.Context, reg *consul.AgentServiceRegistration) error {
	backoff := 200 * time.Millisecond
	for {
		reg.Check.Status = consul.HealthCritical
		if s.ready(ctx, reg) {
			reg.Check.Status = consul.HealthPassing
		}
		err := s.Consul.Agent().ServiceRegisterOpts(reg,
			consul.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx))
		if err == nil {
			return nil
		}
		s.Log.Warn("consul registration failed; retrying", "err", err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("register %s: %w", s.InstanceID, errors.Join(err, ctx.Err()))
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (s *Service) ready(ctx context.Context, reg *consul.AgentServiceRegistration) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, reg.Check.HTTP, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// keepRegistered re-registers when the agent no longer knows us (agent
// restarted, or it reaped us after a long outage), until ctx ends. Run ends
// ctx and waits for this to return before it deregisters, so a draining
// instance never registers itself again.
func (s *Service) keepRegistered(ctx context.Context, reg *consul.AgentServiceRegistration) {
	t := time.NewTicker(2 * s.checkInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		svc, _, err := s.Consul.Agent().Service(s.InstanceID, (&consul.QueryOptions{}).WithContext(ctx))
		if err == nil && svc != nil {
			continue
		}
		var se consul.StatusError
		if ctx.Err() != nil || (err != nil && !(errors.As(err, &se) && se.Code == http.StatusNotFound)) {
			continue // stopping, or agent unreachable: nothing to re-register with yet
		}
		s.Log.Warn("consul agent lost our registration; registering again")
		if err := s.register(ctx, reg); err != nil && ctx.Err() == nil {
			s.Log.Error("re-registration failed", "err", err.Error())
		}
	}
}

// deregister removes the instance from the local agent, retrying briefly:
// an instance left behind would only be reaped after ConsulDeregisterAfter,
// though its failing check takes it out of the pool before that.
func (s *Service) deregister() {
	var err error
	for attempt := range 3 {
		if err = s.Consul.Agent().ServiceDeregister(s.InstanceID); err == nil {
			return
		}
		time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
	}
	s.Log.Warn("consul deregister failed", "err", err.Error())
}
