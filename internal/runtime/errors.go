package runtime

import (
	"errors"
	"fmt"

	"github.com/plinth-os/plinth/pkg/machinery/resource"
)

// Errors returned by State implementations, always wrapped with the
// operation and the resource: test for them with errors.Is.
var (
	// ErrNotFound: the resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: Create of an ID that exists.
	ErrAlreadyExists = errors.New("already exists")
	// ErrVersionConflict: Update based on a version that is no longer the
	// current one.
	ErrVersionConflict = errors.New("version conflict")
	// ErrOwnerConflict: a writer other than the owner changed or destroyed
	// an owned resource.
	ErrOwnerConflict = errors.New("owner conflict")
	// ErrPhaseConflict: the change is not allowed in the resource's phase,
	// e.g. Destroy with pending finalizers or AddFinalizers while tearing
	// down.
	ErrPhaseConflict = errors.New("phase conflict")
	// ErrInvalidBookmark: the bookmark was not issued by this watch's
	// namespace and type in this process.
	ErrInvalidBookmark = errors.New("invalid bookmark")
	// ErrBookmarkTooOld: the events after the bookmark are no longer in the
	// bounded history; the client must list again.
	ErrBookmarkTooOld = errors.New("bookmark too old")
	// ErrWatchOverflow: the watcher fell further behind the writers than the
	// history holds; the watch has ended.
	ErrWatchOverflow = errors.New("watch overflow")
	// ErrUndeclared: a controller touched a type it did not declare.
	ErrUndeclared = errors.New("undeclared type")
)

// OwnerName returns how errors and logs name an owner: the controller name,
// or "user" for the empty owner.
func OwnerName(owner string) string {
	if owner == "" {
		return "user"
	}

	return owner
}

// OwnerConflict returns the error for a write by writer on a resource owned
// by owner.
func OwnerConflict(op string, ref resource.Ref, owner, writer string) error {
	return fmt.Errorf("%s %s: %w: owned by %q, not by %q",
		op, ref, ErrOwnerConflict, OwnerName(owner), OwnerName(writer))
}
