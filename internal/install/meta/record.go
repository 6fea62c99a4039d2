package meta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
)

// Layout of one copy (all integers little-endian):
//
//	offset  size  field
//	     0     8  magic "PLNTMETA"
//	     8     4  format version (1)
//	    12     4  payload length in bytes
//	    16     8  sequence number (1 for the first Save, +1 for each next)
//	    24     4  reserved, zero
//	    28     4  CRC32C (Castagnoli) of bytes 0..27 followed by the payload
//	    32     …  payload: a JSON object of strings, keys sorted
const (
	headerSize    = 32
	formatVersion = 1
	crcOffset     = 28
)

// magic opens every copy.
var magic = [8]byte{'P', 'L', 'N', 'T', 'M', 'E', 'T', 'A'}

// castagnoli is the CRC32C table.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// copyState is what a half of the area holds.
type copyState int

const (
	// stateBlank: the header is all zero; nothing was ever written here.
	stateBlank copyState = iota
	// stateValid: a complete copy whose checksum matches.
	stateValid
	// stateCorrupt: something was written here, but it is not a valid copy
	// (a torn write, or damage).
	stateCorrupt
)

// decoded is one half of the area, examined.
type decoded struct {
	state  copyState
	seq    uint64
	values Values
	// reason says why a corrupt copy was rejected.
	reason string
}

// encodeCopy returns header and payload of a copy holding v at seq.
func encodeCopy(v Values, seq uint64) ([]byte, error) {
	if v == nil {
		v = Values{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]string(v)); err != nil { // encoding/json sorts map keys
		return nil, fmt.Errorf("encode values: %w", err)
	}
	payload := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	b := make([]byte, headerSize+len(payload))
	copy(b[0:8], magic[:])
	binary.LittleEndian.PutUint32(b[8:12], formatVersion)
	binary.LittleEndian.PutUint32(b[12:16], uint32(len(payload)))
	binary.LittleEndian.PutUint64(b[16:24], seq)
	copy(b[headerSize:], payload)
	binary.LittleEndian.PutUint32(b[crcOffset:headerSize], checksum(b[:crcOffset], payload))
	return b, nil
}

// checksum is the CRC32C of the header's first 28 bytes and the payload.
func checksum(head, payload []byte) uint32 {
	c := crc32.Update(0, castagnoli, head)
	return crc32.Update(c, castagnoli, payload)
}

// decodeHeader examines a header; for a header that can be valid it
// returns the payload length to read next (at most maxPayload).
func decodeHeader(h []byte, maxPayload int64) (d decoded, payloadLen int) {
	if isZero(h) {
		return decoded{state: stateBlank}, 0
	}
	if !bytes.Equal(h[0:8], magic[:]) {
		return corrupt("no magic"), 0
	}
	if v := binary.LittleEndian.Uint32(h[8:12]); v != formatVersion {
		return corrupt(fmt.Sprintf("unknown format version %d", v)), 0
	}
	n := binary.LittleEndian.Uint32(h[12:16])
	if int64(n) > maxPayload {
		return corrupt(fmt.Sprintf("payload length %d exceeds the %d bytes of a half", n, maxPayload)), 0
	}
	seq := binary.LittleEndian.Uint64(h[16:24])
	if seq == 0 {
		return corrupt("sequence 0"), 0
	}
	return decoded{state: stateValid, seq: seq}, int(n)
}

// decodePayload completes d (valid so far) with the payload, checking the
// checksum and the JSON.
func decodePayload(d decoded, h, payload []byte) decoded {
	if got, want := checksum(h[:crcOffset], payload), binary.LittleEndian.Uint32(h[crcOffset:headerSize]); got != want {
		return corrupt(fmt.Sprintf("checksum mismatch (stored %08x, computed %08x)", want, got))
	}
	var v map[string]string
	if err := json.Unmarshal(payload, &v); err != nil {
		return corrupt(fmt.Sprintf("payload: %v", err))
	}
	if v == nil { // "null" is valid JSON but not an object
		return corrupt("payload is not a JSON object")
	}
	d.values = v
	return d
}

func corrupt(reason string) decoded {
	return decoded{state: stateCorrupt, reason: reason}
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
