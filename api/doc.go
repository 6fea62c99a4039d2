// Package api holds the .proto sources of Plinth's gRPC API and the Go code
// generated from them (`make generate` runs hack/protoc).
package api

//go:generate go run ../hack/protoc .
