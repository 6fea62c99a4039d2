package install

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)

func installed() State { return NewState("/dev/vda", "v1", t0) }

// upgradeTo writes and arms the inactive slot with version.
func upgradeTo(t *testing.T, s *State, version string) Slot {
	t.Helper()
	slot := s.Inactive()
	if err := s.BeginWrite(slot); err != nil {
		t.Fatal(err)
	}
	s.Written(slot, version, t0)
	if err := s.StartTrial(slot, time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	return slot
}

func TestUpgradeCommitted(t *testing.T) {
	s := installed()
	slot := upgradeTo(t, &s, "v2")
	if slot != SlotB {
		t.Fatalf("inactive slot %s, want B", slot)
	}
	if k := s.Boot(SlotB, t0); k != BootTrial || !s.Trial.Reached {
		t.Fatalf("boot of B: kind %v, trial %+v", k, s.Trial)
	}
	if err := s.Commit(t0); err != nil {
		t.Fatal(err)
	}
	if s.Committed != SlotB || s.Trial != nil || s.Last.Result != ResultCommitted || s.Last.ToVersion != "v2" || s.Last.FromVersion != "v1" {
		t.Fatalf("after commit: %+v last %+v", s, s.Last)
	}
	// The next upgrade writes A.
	if got := upgradeTo(t, &s, "v3"); got != SlotA {
		t.Fatalf("next inactive %s, want A", got)
	}
}

func TestTrialVerdictRollsBack(t *testing.T) {
	s := installed()
	upgradeTo(t, &s, "v2")
	s.Boot(SlotB, t0)
	if err := s.FailTrial("kubelet not Ready within 5m0s"); err != nil {
		t.Fatal(err)
	}
	if k := s.Boot(SlotA, t0); k != BootCommitted {
		t.Fatalf("boot of A after a failed trial: %v", k)
	}
	if s.Trial != nil || s.Committed != SlotA || s.Last.Result != ResultRolledBack || s.Last.Reason != "kubelet not Ready within 5m0s" {
		t.Fatalf("after rollback: %+v last %+v", s, s.Last)
	}
	if !s.Slots[SlotB].Complete {
		t.Fatal("a rolled back slot stays complete (it can be tried again)")
	}
}

func TestTrialThatNeverReachedMachined(t *testing.T) {
	s := installed()
	upgradeTo(t, &s, "v2")
	s.Boot(SlotA, t0) // init of B failed, the firmware booted the default
	if s.Last == nil || s.Last.Result != ResultRolledBack || !strings.Contains(s.Last.Reason, "did not reach machined") {
		t.Fatalf("last %+v", s.Last)
	}
}

func TestTrialThatCrashedDuringTheGate(t *testing.T) {
	s := installed()
	upgradeTo(t, &s, "v2")
	s.Boot(SlotB, t0)
	s.Boot(SlotA, t0)
	if !strings.Contains(s.Last.Reason, "reached machined but gave no verdict") {
		t.Fatalf("last %+v", s.Last)
	}
}

func TestWriteRules(t *testing.T) {
	s := installed()
	if err := s.BeginWrite(SlotA); err == nil {
		t.Fatal("writing the committed slot must fail")
	}
	if err := s.BeginWrite(SlotB); err != nil {
		t.Fatal(err)
	}
	if err := s.StartTrial(SlotB, time.Minute, t0); err == nil {
		t.Fatal("an incomplete slot must not be tried (a write cut short)")
	}
	s.Written(SlotB, "v2", t0)
	if err := s.StartTrial(SlotB, time.Minute, t0); err != nil {
		t.Fatal(err)
	}
	// A staged trial not yet booted is replaced by a new write of the slot.
	if err := s.BeginWrite(SlotB); err != nil {
		t.Fatalf("rewriting a staged slot: %v", err)
	}
	s.Written(SlotB, "v3", t0)
	_ = s.StartTrial(SlotB, time.Minute, t0)
	s.Boot(SlotB, t0)
	if err := s.BeginWrite(SlotB); !errors.Is(err, ErrTrialPending) {
		t.Fatalf("write during a running trial: %v", err)
	}
}

func TestRollback(t *testing.T) {
	s := installed()
	if _, err := s.Rollback(SlotA, t0); err == nil {
		t.Fatal("rollback with an empty slot B must fail")
	}
	upgradeTo(t, &s, "v2")
	s.Boot(SlotB, t0)
	_ = s.Commit(t0)
	target, err := s.Rollback(SlotB, t0)
	if err != nil || target != SlotA || s.Committed != SlotA || s.Last.ToVersion != "v1" || s.Last.FromVersion != "v2" {
		t.Fatalf("rollback: %s %v %+v", target, err, s.Last)
	}
}

func TestRollbackDuringTrial(t *testing.T) {
	s := installed()
	upgradeTo(t, &s, "v2")
	s.Boot(SlotB, t0)
	target, err := s.Rollback(SlotB, t0)
	if err != nil || target != SlotA || s.Trial != nil || s.Committed != SlotA {
		t.Fatalf("rollback during a trial: %s %v %+v", target, err, s)
	}
}

func TestEncodeDecode(t *testing.T) {
	s := installed()
	upgradeTo(t, &s, "v2")
	values := map[string]string{"other": "x"}
	if err := s.Encode(values); err != nil {
		t.Fatal(err)
	}
	got, ok, err := DecodeState(values)
	if err != nil || !ok || got.Trial == nil || got.Trial.Version != "v2" || got.Slots[SlotA].Version != "v1" {
		t.Fatalf("decode: %+v %v %v", got, ok, err)
	}
	if _, ok, err := DecodeState(map[string]string{}); ok || err != nil {
		t.Fatalf("absent: %v %v", ok, err)
	}
	if _, _, err := DecodeState(map[string]string{MetaKey: `{"committed":"C"}`}); err == nil {
		t.Fatal("a bad committed slot must fail")
	}
}
