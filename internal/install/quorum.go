package install

import "fmt"

// CheckQuorum says whether an etcd cluster of voting members keeps its
// quorum while one of them (this node) reboots, when healthyOthers of the
// other members answer. A single-member cluster is unavailable during any
// reboot of its only member: that is allowed (there is nothing to keep).
func CheckQuorum(members, healthyOthers int) error {
	if members <= 1 {
		return nil
	}
	quorum := members/2 + 1
	if healthyOthers < quorum {
		return fmt.Errorf("etcd would lose quorum: %d of %d members are needed, and only %d other members are healthy while this one reboots (use --force to upgrade anyway)", quorum, members, healthyOthers)
	}
	return nil
}
