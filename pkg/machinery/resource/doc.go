// Package resource is the public contract of Plinth's resource model: the
// metadata every resource carries, the Resource interface, a generic typed
// implementation, an untyped one for clients, their YAML and JSON encoding,
// label selectors and the registry of resource definitions.
//
// machined keeps all node state as resources. Controllers turn the machine
// config into resources and reconcile the system toward them; plinthctl reads
// them through the API. This package imports nothing from internal/, so the
// CLI and other clients can use it directly.
//
// # Lifecycle
//
// A resource is identified by namespace, type and ID. Its version starts at 1
// and is bumped by every change the state accepts. Finalizers are names of
// consumers that still need the resource; they block its destruction, not its
// teardown:
//
//	   Create (version 1)
//	      │
//	      ▼
//	┌──────────────┐  Update, AddFinalizers, RemoveFinalizers
//	│   running    │─────────┐  (version + 1)
//	│              │◀────────┘
//	└──────────────┘
//	  │        │ Teardown (owner asks the consumers to let go)
//	  │        ▼
//	  │  ┌──────────────┐  RemoveFinalizers (consumers let go)
//	  │  │ tearing-down │─────────┐
//	  │  │              │◀────────┘
//	  │  └──────────────┘
//	  │        │ Destroy (owner, once no finalizers remain)
//	  │        ▼
//	  └───▶ destroyed: gone from the state, watchers get Destroyed
//	Destroy (owner, no finalizers)
//
// A running resource without finalizers may be destroyed directly. A resource
// that has finalizers, in either phase, cannot be destroyed: its owner tears
// it down, the consumers notice the phase change and remove their finalizers,
// then the owner destroys it.
package resource
