// Package runtime defines how machined keeps and reconciles node state: the
// State that stores resources and streams their changes, and the Controller
// contract that turns some resources into others.
//
// The package root holds the small interfaces, options, events, errors and
// helpers; implementations live below it:
//
//	internal/runtime/inmem   in-memory State with watches and bookmarks
//	internal/runtime/engine  runs controllers: triggers, ownership, restarts
//
// Resources themselves (metadata, typed specs, lifecycle) are defined in
// pkg/machinery/resource, which clients share.
package runtime
