package k8s

import "github.com/plinth-os/plinth/internal/controllers/internal/nodefs"

// nodeFile is a file the node components read: a node path, its content
// and its mode.
type nodeFile = nodefs.File

// writeNodeFiles writes each file under root (see nodefs.Write); missing
// directories are made 0755.
func writeNodeFiles(root string, files ...nodeFile) error { return nodefs.Write(root, 0o755, files...) }

// removeNodeFiles removes node paths under root; missing ones are fine.
func removeNodeFiles(root string, paths ...string) error { return nodefs.Remove(root, paths...) }

// hashNodeFiles identifies files: services restart when the hash of their
// files changes.
func hashNodeFiles(files ...nodeFile) string { return nodefs.Hash(files...) }
