package runtime

import "github.com/plinth-os/plinth/pkg/machinery/resource"

// EventType says what a watch Event reports.
type EventType int

const (
	// Created: the resource appeared (or existed when an initial listing
	// was asked for).
	Created EventType = iota + 1
	// Updated: the resource changed; Event.Old holds the previous version.
	Updated
	// Destroyed: the resource is gone; Event.Resource is its last version.
	Destroyed
	// Bootstrapped: the initial listing is complete; live events follow.
	Bootstrapped
	// Errored: the watch has ended with Event.Error; no events follow.
	Errored
)

// String returns the event type's name.
func (t EventType) String() string {
	switch t {
	case Created:
		return "created"
	case Updated:
		return "updated"
	case Destroyed:
		return "destroyed"
	case Bootstrapped:
		return "bootstrapped"
	case Errored:
		return "errored"
	default:
		return "unknown"
	}
}

// Bookmark is an opaque position in a watch's stream. Resuming a watch with
// it (WithResume) delivers the events after that position.
type Bookmark []byte

// Event is one message of a watch.
//
// Resource and Old are shared by all watchers and must be treated as
// read-only: DeepCopy them before any change.
type Event struct {
	Type     EventType
	Resource resource.Resource
	Old      resource.Resource
	// Bookmark resumes the watch after this event. Events of the initial
	// listing carry the position the listing was taken at. Nil on Errored.
	Bookmark Bookmark
	// Error is set on Errored events.
	Error error
}
