package main

import "testing"

func TestGetCommand(t *testing.T) {
	runNodeCases(t, []nodeCase{
		{"get/rd", []string{"get", "rd"}},
		{"get/table-fanout", []string{"get", "machinestatus", "-n", fanOut}},
		{"get/yaml", []string{"get", "services", "-o", "yaml"}},
		{"get/json-fanout", []string{"get", "svc", "-o", "json", "-n", "10.5.0.2,10.5.0.3"}},
		{"get/one-yaml", []string{"get", "svc", "apid", "-o", "yaml", "--namespace", "runtime"}},
		{"get/one-missing", []string{"get", "svc", "nope", "-n", "10.5.0.2,10.5.0.3"}},
		{"get/unknown-type", []string{"get", "gadgets"}},
		{"get/none", []string{"get", "machinetype"}},
		{"get/selector", []string{"get", "svc", "-l", "role=api"}},
		{"get/watch", []string{"get", "svc", "-w"}},
		{"get/watch-yaml-fanout", []string{"get", "ms", "-w", "-o", "yaml", "-n", "10.5.0.2,10.5.0.9"}},
		{"get/bad-output", []string{"get", "svc", "-o", "xml"}},
	}, nil)
}
