// Package install installs Plinth to a disk and changes it as a whole: A/B
// boot slots on the EFI system partition, a one-time boot of a new slot,
// a health gate that commits it, and rollback (docs/decisions/0002).
//
// This file is the upgrade state kept in META, and its transitions. It is
// pure: callers load the State, call one transition and save it.
//
//	           BeginWrite(s)              Written(s,v)            StartTrial(s)
//	(slot s) ────────────────▶ incomplete ─────────────▶ complete ─────────────▶ trial of s
//	                                                                               │
//	             Boot(booted=s): trial boot; Reached ◀─────────────────────────────┤
//	             Commit(): s becomes Committed, Last=committed                     │
//	             FailTrial(why) + reboot ─▶ Boot(booted=other): Last=rolled-back ◀─┘
//	             Rollback(): Committed=other (complete), Last=rolled-back
package install

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/plinth-os/plinth/internal/install/bootloader"
)

// Slot is a boot slot, A or B (the boot loader's names).
type Slot = bootloader.Slot

// The two boot slots.
const (
	SlotA = bootloader.SlotA
	SlotB = bootloader.SlotB
)

// Results of an upgrade or rollback.
const (
	ResultCommitted  = "committed"
	ResultRolledBack = "rolled-back"
	ResultFailed     = "failed"
)

// MetaKey is the META key the State is stored under, as JSON.
const MetaKey = "upgrade"

// SlotInfo is what META knows about one slot.
type SlotInfo struct {
	// Version is the Plinth version written to the slot.
	Version string `json:"version,omitempty"`
	// Complete is true once every file of the slot was written and
	// verified; a slot being written, or whose write failed or was cut, is
	// incomplete and never booted.
	Complete bool `json:"complete"`
	// Written is when the slot's write finished.
	Written time.Time `json:"written,omitzero"`
}

// Trial is a new slot's health-gated first boot.
type Trial struct {
	// Slot is the slot tried; FromSlot and FromVersion what ran before.
	Slot        Slot   `json:"slot"`
	Version     string `json:"version"`
	FromSlot    Slot   `json:"fromSlot"`
	FromVersion string `json:"fromVersion"`
	// Requested is when the upgrade armed the trial; Timeout bounds the
	// health gate once the trial boot reached machined.
	Requested time.Time     `json:"requested"`
	Timeout   time.Duration `json:"timeout"`
	// Reached is set by the trial boot's machined as it starts, at
	// Started; the health gate ends at Started+Timeout.
	Reached bool      `json:"reached,omitempty"`
	Started time.Time `json:"started,omitzero"`
	// RequireNodeReady adds the kubelet's Node Ready to the gate: set when
	// the node was Ready as the upgrade was asked for.
	RequireNodeReady bool `json:"requireNodeReady,omitempty"`
	// Verdict is why the trial boot's machined gave up, before it
	// rebooted into the old slot.
	Verdict string `json:"verdict,omitempty"`
}

// Result is the outcome of the last upgrade or rollback.
type Result struct {
	Result      string    `json:"result"`
	Slot        Slot      `json:"slot,omitempty"`
	FromVersion string    `json:"fromVersion,omitempty"`
	ToVersion   string    `json:"toVersion,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	At          time.Time `json:"at"`
}

// State is the upgrade state of an installed node.
type State struct {
	// Disk is the installed disk, as named when it was installed.
	Disk string `json:"disk,omitempty"`
	// Slots are A and B.
	Slots map[Slot]SlotInfo `json:"slots"`
	// Committed is the default slot: the last one that passed its gate.
	Committed Slot `json:"committed"`
	// Trial is the pending trial, if any.
	Trial *Trial `json:"trial,omitempty"`
	// Last is the last upgrade's or rollback's result.
	Last *Result `json:"last,omitempty"`
	// Wipe lists the partition labels to reformat at the next boot
	// (recorded by reset, done before they are mounted).
	Wipe []string `json:"wipe,omitempty"`
}

// NewState is the state right after installing version into slot A.
func NewState(disk, version string, now time.Time) State {
	return State{
		Disk:      disk,
		Slots:     map[Slot]SlotInfo{SlotA: {Version: version, Complete: true, Written: now}, SlotB: {}},
		Committed: SlotA,
	}
}

// DecodeState reads the State stored in META values (ok=false when the
// key is absent: not installed).
func DecodeState(values map[string]string) (State, bool, error) {
	raw, ok := values[MetaKey]
	if !ok {
		return State{}, false, nil
	}
	var s State
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return State{}, true, fmt.Errorf("upgrade state in META: %w", err)
	}
	if s.Committed != SlotA && s.Committed != SlotB {
		return State{}, true, fmt.Errorf("upgrade state in META: committed slot %q is neither A nor B", s.Committed)
	}
	if s.Slots == nil {
		s.Slots = map[Slot]SlotInfo{}
	}
	return s, true, nil
}

// Encode stores the State into META values.
func (s State) Encode(values map[string]string) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode upgrade state: %w", err)
	}
	values[MetaKey] = string(raw)
	return nil
}

// Inactive is the slot an upgrade writes: the one not committed.
func (s State) Inactive() Slot { return s.Committed.Other() }

// ErrTrialPending is returned when an upgrade is asked for while another
// one waits for its health gate.
var ErrTrialPending = errors.New("an upgrade is already on trial")

// BeginWrite marks slot as being written: incomplete until Written. The
// committed slot cannot be written, and no trial may be pending unless
// it is a staged one of this very slot (which the new write replaces).
func (s *State) BeginWrite(slot Slot) error {
	if slot == s.Committed {
		return fmt.Errorf("slot %s is the committed slot: an upgrade writes the other one", slot)
	}
	if s.Trial != nil {
		if s.Trial.Reached || s.Trial.Slot != slot {
			return fmt.Errorf("%w: slot %s (version %s)", ErrTrialPending, s.Trial.Slot, s.Trial.Version)
		}
		s.Trial = nil
	}
	s.Slots[slot] = SlotInfo{}
	return nil
}

// Written marks slot complete with version.
func (s *State) Written(slot Slot, version string, now time.Time) {
	s.Slots[slot] = SlotInfo{Version: version, Complete: true, Written: now}
}

// StartTrial arms the health-gated first boot of slot.
func (s *State) StartTrial(slot Slot, timeout time.Duration, now time.Time) error {
	info := s.Slots[slot]
	if !info.Complete {
		return fmt.Errorf("slot %s is incomplete: it cannot be booted", slot)
	}
	if slot == s.Committed {
		return fmt.Errorf("slot %s is already the committed slot", slot)
	}
	s.Trial = &Trial{
		Slot: slot, Version: info.Version, FromSlot: s.Committed, FromVersion: s.Slots[s.Committed].Version,
		Requested: now, Timeout: timeout,
	}
	return nil
}

// BootKind is what a boot is, as Boot classifies it.
type BootKind int

// Kinds of boot.
const (
	// BootCommitted is a boot of the committed slot.
	BootCommitted BootKind = iota
	// BootTrial is the health-gated first boot of a new slot.
	BootTrial
	// BootOther is a boot of the non-committed slot without a trial
	// (chosen by hand in the boot menu).
	BootOther
)

// Boot records a boot of slot booted at the start of machined and says
// what it is. A trial that ended in a boot of the old slot becomes a
// rolled-back result, with the reason the trial's machined gave or, when
// it gave none, what is known about how far it came.
func (s *State) Boot(booted Slot, now time.Time) BootKind {
	t := s.Trial
	if t != nil && booted == t.Slot {
		t.Reached, t.Started = true, now
		return BootTrial
	}
	if t != nil && booted == t.FromSlot {
		reason := t.Verdict
		switch {
		case reason != "":
		case t.Reached:
			reason = fmt.Sprintf("slot %s (%s) reached machined but gave no verdict: it crashed, hung or lost power during its health check", t.Slot, t.Version)
		default:
			reason = fmt.Sprintf("slot %s (%s) did not reach machined: its kernel or init failed (see the console)", t.Slot, t.Version)
		}
		s.Last = &Result{Result: ResultRolledBack, Slot: t.FromSlot, FromVersion: t.Version, ToVersion: t.FromVersion, Reason: reason, At: now}
		s.Trial = nil
	}
	return s.kindOf(booted)
}

func (s *State) kindOf(booted Slot) BootKind {
	if booted == s.Committed {
		return BootCommitted
	}
	return BootOther
}

// Commit makes the trial's slot the committed one.
func (s *State) Commit(now time.Time) error {
	t := s.Trial
	if t == nil {
		return errors.New("no upgrade is on trial")
	}
	s.Committed = t.Slot
	s.Last = &Result{Result: ResultCommitted, Slot: t.Slot, FromVersion: t.FromVersion, ToVersion: t.Version, At: now}
	s.Trial = nil
	return nil
}

// FailTrial records why the trial boot gives up; the caller then reboots
// into the old slot, whose Boot turns it into the result.
func (s *State) FailTrial(reason string) error {
	if s.Trial == nil {
		return errors.New("no upgrade is on trial")
	}
	s.Trial.Verdict = reason
	return nil
}

// Rollback makes the other slot the committed one. It must be complete.
// A pending trial is dropped.
func (s *State) Rollback(running Slot, now time.Time) (Slot, error) {
	target := s.Committed.Other()
	if running != "" && running != s.Committed {
		// Running the trial or a hand-picked slot: back to the committed one.
		target = s.Committed
	}
	info := s.Slots[target]
	if !info.Complete {
		return "", fmt.Errorf("slot %s holds no complete version to roll back to", target)
	}
	from := s.Slots[running].Version
	s.Last = &Result{Result: ResultRolledBack, Slot: target, FromVersion: from, ToVersion: info.Version, Reason: "requested", At: now}
	s.Committed = target
	s.Trial = nil
	return target, nil
}
