package install

import "testing"

func TestCheckQuorum(t *testing.T) {
	for _, c := range []struct {
		members, healthy int
		ok               bool
	}{
		{1, 0, true}, {2, 1, false}, {3, 2, true}, {3, 1, false}, {5, 3, true}, {5, 2, false},
	} {
		if err := CheckQuorum(c.members, c.healthy); (err == nil) != c.ok {
			t.Errorf("CheckQuorum(%d, %d) = %v, want ok=%v", c.members, c.healthy, err, c.ok)
		}
	}
}
