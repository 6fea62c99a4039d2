package config

import (
	"fmt"
	"strings"
)

// SelectedName is the name of the context a command works on: override if
// set, else the context chosen when the config was resolved (--context),
// else the config's current context. It may name no context; [Config.Current]
// says so.
func (c *Config) SelectedName(override string) string {
	switch {
	case override != "":
		return override
	case c.override != "":
		return c.override
	default:
		return c.Context
	}
}

// Current returns the context named by [Config.SelectedName]. Its errors
// say what is wrong and how to fix it. The returned context is the one in
// the config: changing it changes the config.
func (c *Config) Current(override string) (*Context, error) {
	name := c.SelectedName(override)
	if name == "" {
		if len(c.Contexts) == 0 {
			return nil, fmt.Errorf("no contexts in %s: create one with `plinthctl gen config` and `plinthctl config merge`, or `plinthctl config add`", c.where())
		}
		return nil, fmt.Errorf("no current context in %s: choose one with `plinthctl config context NAME` or --context; known: %s",
			c.where(), strings.Join(c.Names(), ", "))
	}
	ctx, ok := c.Contexts[name]
	if !ok {
		return nil, c.NotFound(name)
	}
	return ctx, nil
}

// NotFound is the error for a context name the config does not hold; it
// lists the names it does hold.
func (c *Config) NotFound(name string) error {
	known := "none"
	if len(c.Contexts) > 0 {
		known = strings.Join(c.Names(), ", ")
	}
	return fmt.Errorf("context %q not found in %s; known: %s", name, c.where(), known)
}

// where names the config in error messages.
func (c *Config) where() string {
	if c.path == "" {
		return "the client config"
	}
	return c.path
}
