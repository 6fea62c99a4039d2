package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// socketOwner is the process that holds a socket.
type socketOwner struct {
	pid  int32
	comm string
}

// socketOwners maps socket inodes to the lowest pid that holds them, from
// the "socket:[<inode>]" links in <procRoot>/<pid>/fd. Processes whose fd
// directory vanishes or cannot be read (other users' processes without
// privileges) are skipped.
func socketOwners(procRoot string) (map[uint64]socketOwner, error) {
	pids, err := listPIDs(procRoot)
	if err != nil {
		return nil, err
	}
	owners := make(map[uint64]socketOwner)
	for _, pid := range pids {
		dir := filepath.Join(procRoot, strconv.Itoa(pid))
		inodes := socketInodes(filepath.Join(dir, "fd"))
		if len(inodes) == 0 {
			continue
		}
		owner := socketOwner{pid: int32(pid), comm: processComm(dir)}
		for _, ino := range inodes {
			if _, taken := owners[ino]; !taken {
				owners[ino] = owner
			}
		}
	}
	return owners, nil
}

// socketInodes returns the inodes of the sockets among the links in fdDir;
// it returns nothing when fdDir cannot be read.
func socketInodes(fdDir string) []uint64 {
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return nil
	}
	var inodes []uint64
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil {
			continue
		}
		if ino, ok := parseSocketLink(target); ok {
			inodes = append(inodes, ino)
		}
	}
	return inodes
}

// parseSocketLink parses an fd link target of the form "socket:[12345]".
func parseSocketLink(target string) (uint64, bool) {
	rest, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, "]")
	if !ok {
		return 0, false
	}
	ino, err := strconv.ParseUint(num, 10, 64)
	return ino, err == nil
}

// processComm returns the command name of the process in dir, from comm or
// else from stat, or "" when neither can be read.
func processComm(dir string) string {
	if raw, err := os.ReadFile(filepath.Join(dir, "comm")); err == nil {
		if comm := strings.TrimSuffix(string(raw), "\n"); comm != "" {
			return comm
		}
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "stat")); err == nil {
		if st, err := parseStat(string(raw)); err == nil {
			return st.comm
		}
	}
	return ""
}
